-- Argo CD health of a camops.io/CameraPool.
--   Progressing: no status yet, the operator has not reconciled the latest spec, Ready is Unknown,
--                or workers are still starting (WorkersNotReady)
--   Healthy:     Ready=True (every worker ready)
--   Degraded:    Ready=False for another reason (cameras the pool cannot serve), with its message
local hs = { status = "Progressing", message = "Waiting for the camops operator to report status" }
if obj.status == nil then
  return hs
end

local ready = nil
if obj.status.conditions ~= nil then
  for _, condition in ipairs(obj.status.conditions) do
    if condition.type == "Ready" then
      ready = condition
    end
  end
end

local generation = obj.metadata.generation
local observed = obj.status.observedGeneration
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Reconciling generation " .. generation
  return hs
end

if ready == nil then
  hs.message = "Waiting for the Ready condition"
  return hs
end

local message = ready.message
if message == nil or message == "" then
  message = ready.reason or ""
end
if ready.status == "True" then
  hs.status = "Healthy"
elseif ready.status == "False" and ready.reason ~= "WorkersNotReady" then
  hs.status = "Degraded"
end
hs.message = message
return hs
