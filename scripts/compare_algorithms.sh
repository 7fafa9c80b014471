#!/usr/bin/env bash
# FCN-8s, U-Net, SegNet and SegNet-Basic trained and tested at the same budget, and
# one table of the results.
#
# Every model goes through scripts/train_camvid.sh unchanged apart from --model:
# the same CamVid train split, the same augmentation, optimizer, schedule, epochs,
# input scale and seed, and the same width multiplier (the three VGG16-shaped
# networks then share their encoder's widths; the table lists each one's parameters
# and FLOPs). Each model trains in its own run folder under RUNS_DIR and is then
# evaluated on the 233 test frames at 360x480 (`segnet evaluate`, with and without
# logit adjustment). Finally scripts/algorithm_table.py writes $RUNS_DIR/table.md
# from the run folders: parameters, GFLOPs, seconds per epoch, ms per test image,
# test G / C / mIoU / BF and every class's IoU, and the command of each row.
#
# The models:
#   fcn8s         Long, Shelhamer & Darrell, "Fully Convolutional Networks for
#                 Semantic Segmentation", CVPR 2015 (VGG16 encoder, skips at 8x).
#   unet          Ronneberger, Fischer & Brox, "U-Net", MICCAI 2015.
#   segnet        Badrinarayanan, Kendall & Cipolla, "SegNet", TPAMI 2017 (VGG16
#                 encoder, decoder upsampled with the pooling indices).
#   segnet_basic  the same paper's 4-level, 7x7 network.
# The bundled preset's own network, segnet_encoder_addition, can be added with
# MODELS="fcn8s unet segnet segnet_basic segnet_encoder_addition".
#
# Budget: each model costs about what the CamVid recipe costs (170 epochs, about an
# hour on 2 idle AMD EPYC Zen 4 cores), so the four take several hours. With
# EPOCHS=100 on 2 AMD EPYC Zen 5 cores the four took about 70 minutes of training (6-14 s an
# epoch; docs/guide/models.md has the table). Rerun the same command to resume: a
# finished model is only evaluated (or skipped once evaluated), an interrupted one
# resumes where it stopped.
#
# Usage:
#   scripts/compare_algorithms.sh [extra `segnet train` flags for every model...]
#
# Environment (all optional; the others of train_camvid.sh apply too):
#   RUNS_DIR   folder of the run folders    (default: $HOME/segnet_runs/algorithms)
#   MODELS     models to train              (default: fcn8s unet segnet segnet_basic)
#   WIDTH      width multiplier of every model  (default: 0.25, the preset's)
#   EPOCHS     epochs of every model        (default: 170, the recipe's)
#   PYTHON     Python for the table         (default: python)
#
# A smoke test of the whole chain (a few minutes):
#   RUNS_DIR=/tmp/algorithms_smoke EVAL_ARGS="--limit 2" ADJUST_ARGS="--limit 2" \
#     scripts/compare_algorithms.sh --epochs 1 --steps-per-epoch 2 --validation-steps 2
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RUNS_DIR=${RUNS_DIR:-$HOME/segnet_runs/algorithms}
MODELS=${MODELS:-fcn8s unet segnet segnet_basic}
WIDTH=${WIDTH:-0.25}
export EPOCHS=${EPOCHS:-170}
PYTHON=${PYTHON:-python}

mkdir -p "$RUNS_DIR"
runs=()
for model in $MODELS; do
  echo "compare_algorithms.sh: $model (width $WIDTH) in $RUNS_DIR/$model"
  RUN_DIR="$RUNS_DIR/$model" bash "$here/train_camvid.sh" --model "$model" --width "$WIDTH" "$@"
  runs+=("$RUNS_DIR/$model")
done
"$PYTHON" "$here/algorithm_table.py" "${runs[@]}" --out "$RUNS_DIR/table.md"
echo "compare_algorithms.sh: wrote $RUNS_DIR/table.md"
