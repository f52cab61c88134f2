#!/usr/bin/env bash
# The main job end to end on built-in synthetic data, no download needed:
#   bash scripts/quickstart.sh [work folder, default ./quickstart]
source "$(dirname "${BASH_SOURCE[0]}")/_venv.sh"
WORK="${1:-$REPO/quickstart}"
mkdir -p "$WORK" && cd "$WORK"
CONFIG="$REPO/configs/quickstart/bisenetv2_synthetic_128x128_200.yml"

echo "== 1. generate synthetic SEM images =="
hru2net-synth --out data/synthetic_sem --num 60 --size 256 256 --val_fraction 0.2
echo "== 2. train PaddleSeg's BiSeNetV2 (random init) for 200 iterations =="
hru2net-train --config "$CONFIG" --save_dir output --save_interval 200 --log_iters 20
echo "== 3. evaluate =="
hru2net-val --config "$CONFIG" --model_path output/iter_200/model.pdparams --save_json output/val_metrics.json
echo "== 4. predict =="
hru2net-predict --config "$CONFIG" --model_path output/iter_200/model.pdparams \
  --image_path data/synthetic_sem/images --save_dir output/predictions
echo "== 5. export =="
hru2net-export --config "$CONFIG" --model_path output/iter_200/model.pdparams --save_dir output/inference_model
echo "== 6. particle analysis: masks, overlays, sizes (synthetic images, 7.34 nm/px as TiO2) =="
hru2net analyze data/synthetic_sem/images --out output/analysis --config "$CONFIG" \
  --model_path output/iter_200/model.pdparams --pixel-size 7.34
echo "done: metrics in $WORK/output/val_metrics.json, masks in $WORK/output/predictions,"
echo "      particle statistics in $WORK/output/analysis (summary.csv, size_histogram.png)"
