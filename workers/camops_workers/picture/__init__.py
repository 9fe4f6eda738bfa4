"""Picture health: is the camera's picture frozen, black, one colour, blurred or moved?

Pure measures on a small luma thumbnail of each snapshot (``thumbnail``, ``measures``), a
reference view learned slowly per camera (``reference``), states with hysteresis (``states``)
and one judge per camera that ties them together (``judge``). No I/O, no clock: every call
takes the snapshot's time.
"""

from camops_workers.picture.judge import PictureJudge, Verdict
from camops_workers.picture.measures import Measures, measure
from camops_workers.picture.reference import ReferenceView
from camops_workers.picture.states import Hysteresis, PictureState, Transition, classify, describe
from camops_workers.picture.thumbnail import Thumbnail, thumbnail_from_frame, thumbnail_from_jpeg, thumbnail_from_luma

__all__ = [
    "Hysteresis",
    "Measures",
    "PictureJudge",
    "PictureState",
    "ReferenceView",
    "Thumbnail",
    "Transition",
    "Verdict",
    "classify",
    "describe",
    "measure",
    "thumbnail_from_frame",
    "thumbnail_from_jpeg",
    "thumbnail_from_luma",
]
