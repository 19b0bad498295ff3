"""Synthetic lifters with known spines: rendered squat/deadlift sets plus exact ground truth.

motion.py (numpy): reps, phases, joint-angle keys, spine profiles, fault labels.
rig.py: poses the anny body model (torch + anny, optional extra 'synth') for a set.
raster.py (numpy + OpenCV): camera, rasterizer, floor and wall.
generate.py: the CLI that renders clips and writes their ground truth from a YAML grid.
"""
