#!/usr/bin/env bash
# System packages the project uses beyond Python: Tesseract OCR, which reads the scale bar of
# images without pixel-size metadata (paddleseg_hru2net/microscopy/scale_bar.py). Debian/Ubuntu
# (apt-get); elsewhere install tesseract yourself (brew install tesseract; the UB Mannheim build
# on Windows) - without it lengths of such images stay in pixels.
set -euo pipefail
if command -v tesseract > /dev/null; then
  exit 0
fi
if ! command -v apt-get > /dev/null; then
  echo "note: tesseract not found and no apt-get here; install Tesseract OCR to read scale bars" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  SUDO="sudo"
fi
echo "installing tesseract-ocr (apt) for reading scale bars"
$SUDO apt-get update -q > /dev/null || true
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q tesseract-ocr > /dev/null
