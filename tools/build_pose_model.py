"""Build models/pose_landmarker_full.task from the model files inside the mediapipe 0.10.21 wheel.

The current mediapipe (1.2.x) ships no pose model and cannot write TFLite metadata, so the Tasks
bundle is made once, here, with the 0.10.21 wheel's metadata writer. `tools/build_pose_model.sh` sets
up the throwaway build environment and calls this script; the result is committed so nothing
downloads at run time.

Usage (inside the build venv): python tools/build_pose_model.py OUT.task SITE_PACKAGES_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

# Input normalisation from MediaPipe's own graphs: the detector takes [-1, 1]
# (pose_detection_cpu.pbtxt), the landmark model [0, 1] (pose_landmark_by_roi_cpu.pbtxt).
DETECTOR = ("modules/pose_detection/pose_detection.tflite", 127.5, 127.5, "pose_detector")
LANDMARKER = (
    "modules/pose_landmark/pose_landmark_full.tflite",
    0.0,
    255.0,
    "pose_landmarks_detector",
)


def with_metadata(model: bytes, mean: float, std: float, name: str) -> bytes:
    from mediapipe.tasks.python.metadata.metadata_writers import metadata_writer, writer_utils

    writer = metadata_writer.MetadataWriter.create(model).add_general_info(name)
    writer = writer.add_image_input(norm_mean=[mean], norm_std=[std])
    for i in range(len(writer_utils.get_output_tensor_types(model))):
        writer.add_feature_output(name=f"out{i}")
    return bytes(writer.populate()[0])


def main(out: str, site_packages: str) -> None:
    from mediapipe.tasks.python.metadata.metadata_writers import model_asset_bundle_utils

    root = Path(site_packages) / "mediapipe"
    files = {}
    for rel, mean, std, name in (DETECTOR, LANDMARKER):
        files[f"{name}.tflite"] = with_metadata((root / rel).read_bytes(), mean, std, name)
    tmp = Path(out).with_suffix(".partial")
    model_asset_bundle_utils.create_model_asset_bundle(files, str(tmp))
    tmp.replace(out)
    print(f"wrote {out} ({Path(out).stat().st_size:,} bytes)")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
