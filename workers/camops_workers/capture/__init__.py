"""The capture worker: sources, keyframe-gated snapshots, remuxed segments, supervision."""
