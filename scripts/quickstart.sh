#!/usr/bin/env bash
# The main job end to end on built-in synthetic SEM images, no download needed (a few minutes
# on a 2-core CPU):   bash scripts/quickstart.sh [work folder, default ./quickstart]
#  1. generate synthetic SEM images with exact masks
#  2. analyse them with the shipped HRU2-Net† (fastest installed backend; the ONNX model is
#     built once and cached): masks, 16-bit label images, overlays, particle tables, histogram
#  3. fine-tune the shipped HRU2-Net† on them with tools/train.py (PaddleSeg's flags)
#  4. evaluate, 5. export (static + ONNX), 6. analyse again with the fine-tuned weights
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
WORK="${1:-$REPO/quickstart}"
mkdir -p "$WORK" && cd "$WORK"
CONFIG="$REPO/configs/quickstart/hru2netp_synthetic_finetune_160x160_30.yml"
SHIPPED="$REPO/paddleseg_hru2net/weights/hru2netp_tio2/model.pdparams"
DATA="$WORK/data/synthetic_sem"
OPTS=(--opts "train_dataset.dataset_root=$DATA" "val_dataset.dataset_root=$DATA")

echo "== 1. generate synthetic SEM images =="
hru2net-synth --out "$DATA" --num 12 --size 256 256 --val_fraction 0.25 --overwrite
echo "== 2. analyse them with the shipped HRU2-Net† =="
hru2net analyze "$DATA/images" --out output/analysis_shipped --pixel-size 7.34 --overwrite
echo "== 3. fine-tune the shipped HRU2-Net† for 30 iterations =="
python "$REPO/tools/train.py" --config "$CONFIG" --save_dir output/finetune --save_interval 30 \
  --log_iters 10 "${OPTS[@]}" "model.pretrained=$SHIPPED"
echo "== 4. evaluate (sliding window, the paper's metrics) =="
python "$REPO/tools/val.py" --config "$CONFIG" --model_path output/finetune/iter_30/model.pdparams \
  --save_json output/val_metrics.json "${OPTS[@]}"
echo "== 5. export (static graph + ONNX) =="
python "$REPO/tools/export.py" --config "$CONFIG" --model_path output/finetune/iter_30/model.pdparams \
  --save_dir output/inference_model --output_op none --onnx "${OPTS[@]}"
echo "== 6. analyse with the fine-tuned weights (exported folder, ONNX Runtime) =="
hru2net analyze "$DATA/images" --out output/analysis_finetuned --deploy_dir output/inference_model \
  --pixel-size 7.34 --overwrite
echo "done: particle tables in $WORK/output/analysis_shipped and $WORK/output/analysis_finetuned"
echo "      (summary.csv, size_histogram.png), metrics in $WORK/output/val_metrics.json"
