-- Argo CD health of a camops.io/Camera.
--   Progressing: no status yet, the operator has not reconciled the latest spec, the camera is
--                still being set up (phase Pending), or Ready is Unknown
--   Suspended:   spec.paused (the worker is scaled to 0 on purpose)
--   Healthy:     Ready=True
--   Degraded:    Ready=False, with the condition's message
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
if ready ~= nil and ready.observedGeneration ~= nil and (observed == nil or ready.observedGeneration > observed) then
  observed = ready.observedGeneration
end
if generation ~= nil and (observed == nil or observed < generation) then
  hs.message = "Reconciling generation " .. generation
  return hs
end

if obj.spec ~= nil and obj.spec.paused == true then
  hs.status = "Suspended"
  hs.message = "Camera is paused"
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
  hs.message = message
elseif ready.status == "False" and obj.status.phase == "Pending" then
  hs.message = message
elseif ready.status == "False" then
  hs.status = "Degraded"
  hs.message = message
else
  hs.message = message
end
return hs
