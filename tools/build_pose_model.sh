#!/usr/bin/env bash
# Rebuilds models/pose_landmarker_full.task in a throwaway venv (see tools/build_pose_model.py).
# Needs only the package index; the two .tflite files come from the mediapipe 0.10.21 wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
python3 -m venv "$build/venv"
"$build/venv/bin/pip" install -q --no-deps mediapipe==0.10.21
"$build/venv/bin/pip" install -q "numpy<2" "protobuf>=4.25.3,<5" flatbuffers "opencv-python-headless<4.12" \
    matplotlib attrs absl-py
site=$("$build/venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
"$build/venv/bin/python" tools/build_pose_model.py models/pose_landmarker_full.task "$site"
