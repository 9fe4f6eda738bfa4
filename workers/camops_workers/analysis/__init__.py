"""Frame analysis hand-off: sampled snapshots POSTed to an inference endpoint, answers stored beside them."""

from camops_workers.analysis.buffer import DropOldestBuffer
from camops_workers.analysis.client import Answer, InferenceClient, Outcome
from camops_workers.analysis.listener import AnalysisListener, AnalysisResult, AnalysisStats, result_key
from camops_workers.analysis.request import request_headers

__all__ = [
    "AnalysisListener",
    "AnalysisResult",
    "AnalysisStats",
    "Answer",
    "DropOldestBuffer",
    "InferenceClient",
    "Outcome",
    "request_headers",
    "result_key",
]
