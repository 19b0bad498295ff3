"""Still frames from the annotated video (key frames of flagged reps), without decoding it all."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray


def frame_at(video: Path, t_s: float, max_width: int = 640) -> NDArray[np.uint8] | None:
    """The RGB frame shown at t_s seconds (the last one at or before it), downscaled to max_width.

    Seeks to the key frame before t_s and decodes forward, so the cost does not grow with the
    clip's length. None when the file cannot be read or holds no frame.
    """
    try:
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            if stream.time_base is not None and t_s > 0:
                container.seek(int(t_s / stream.time_base), stream=stream, backward=True)
            chosen = None
            for frame in container.decode(stream):
                if chosen is not None and frame.time is not None and frame.time > t_s + 1e-6:
                    break
                chosen = frame
            if chosen is None:
                return None
            width = min(max_width, chosen.width)
            height = round(chosen.height * width / chosen.width)
            return np.asarray(chosen.to_ndarray(width=width, height=height, format="rgb24"))
    except (av.error.FFmpegError, OSError, IndexError):
        return None
