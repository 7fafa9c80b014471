#!/usr/bin/env bash
# A first CamVid recipe: SegNet (VGG16 layout, quarter width, 1.85 M parameters)
# trained on the 367 training frames with random 180x240 crops taken around the
# frames' own scale (zoom 0.7x-1.4x), bfloat16 mixed precision on the CPU, AdamW with
# cosine decay, unweighted cross-entropy; the best epoch is chosen on 48 validation
# frames at full resolution; then `segnet evaluate` scores it on the 233 test frames
# at full resolution (360x480).
# Budgeted for about 45 minutes on 2 CPU cores (35-55 s an epoch); lower EPOCHS on a
# slower or shared machine. Median-frequency class weights (the paper's choice) gave a
# lower validation mIoU at this budget (0.243 against 0.296): with so few steps the
# weighted loss pushes large classes into rare ones (Building into SignSymbol).
# AdamW rather than the paper's SGD (lr 0.1, ~10k iterations), which needs far more
# steps than this budget allows.
#
# Usage:
#   scripts/train_camvid.sh [extra `segnet train` flags...]
#
# Environment (all optional):
#   CAMVID_DIR   SegNet-layout CamVid folder      (default: ../shared/camvid)
#   RUN_DIR      run folder                       (default: runs/camvid_segnet)
#   EPOCHS       training epochs                  (default: 45)
#   EVAL_ARGS    extra `segnet evaluate` flags    (e.g. "--limit 5" for a smoke test)
#   SEGNET       the segnet command               (default: segnet, else python -m)
#
# Flags after the script name are passed to `segnet train` and override the recipe,
# e.g. a 2-minute smoke test:
#   RUN_DIR=/tmp/camvid_smoke EVAL_ARGS="--limit 3" \
#     scripts/train_camvid.sh --epochs 1 --steps-per-epoch 3 --validation-steps 2
#
# Rerunning the same command after an interruption resumes the run; a finished run
# is kept (add --overwrite to retrain it). The evaluation is skipped if its
# metrics.json exists already.
set -euo pipefail

CAMVID_DIR=${CAMVID_DIR:-../shared/camvid}
RUN_DIR=${RUN_DIR:-runs/camvid_segnet}
EPOCHS=${EPOCHS:-45}
EVAL_ARGS=${EVAL_ARGS:-}
if [[ -z "${SEGNET:-}" ]]; then
  if command -v segnet >/dev/null 2>&1; then SEGNET=segnet; else SEGNET="python -m segnet_tf.cli"; fi
fi

# 1. Train (resumes automatically; a finished run is left alone).
if [[ -f "$RUN_DIR/metrics.json" && " $* " != *" --overwrite "* ]]; then
  echo "train_camvid.sh: $RUN_DIR already holds a finished run; evaluating it."
else
  $SEGNET train \
    --data camvid --data-dir "$CAMVID_DIR" \
    --model segnet --width 0.25 --mixed-precision \
    --image-size 180 240 --scale-range 1.4 2.8 --batch-size 8 --epochs "$EPOCHS" \
    --validation-steps 6 --validation-image-size 360 480 \
    --optimizer adamw --learning-rate 2e-3 --weight-decay 1e-2 \
    --lr-schedule cosine --warmup-steps 100 \
    --class-weighting none --augment --seed 0 \
    --run-dir "$RUN_DIR" "$@"
fi

# 2. Evaluate the best checkpoint on the test split at full resolution.
# shellcheck disable=SC2086  # EVAL_ARGS is a list of flags.
if [[ -f "$RUN_DIR/eval-test/metrics.json" && " $EVAL_ARGS " != *" --overwrite "* ]]; then
  echo "train_camvid.sh: $RUN_DIR/eval-test/metrics.json exists; not evaluating again."
else
  $SEGNET evaluate "$RUN_DIR/best.keras" --data camvid --data-dir "$CAMVID_DIR" \
    --split test --output-dir "$RUN_DIR/eval-test" $EVAL_ARGS
fi
