#!/usr/bin/env bash
# Trains the shipped weights from scratch: every stage of weights/README.md, in the order the stages
# depend on each other, each starting from the one before it (--init). About 10 hours on one core.
#
#   weights/train_shipped.sh [--data DIR] [--val DIR] [--runs DIR] [--wflw FILE] [--bin DIR] [--quick]
#
# --data / --val default to ../shared/data/300w/{train,val}; --wflw is the third-party WFLW model that
# the last stages learn from (default ../shared/models/pfld-0.25x-98-wflw.onnx); --bin holds pfld_train
# (default build/release/examples). Each stage writes runs/<stage>/ (best.pfld, log.csv, curve.svg)
# and, once finished, done.json; a stage with done.json is skipped, one with only last.ckpt resumes, so
# an interrupted pipeline continues where it stopped. The results are copied to
# runs/pfld-0.25x-68.pfld and runs/pfld-1x-68.pfld. --quick runs every stage for one epoch into
# runs/quick unless --runs is given (the whole pipeline in minutes: a check that it runs, not weights).
# It repeats the recipe, not the shipped bits: every stage runs on one thread (the 1X's stage 4 ran
# partly on two), and the code has changed since.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
data=$here/../shared/data/300w/train
val=$here/../shared/data/300w/val
runs=
wflw=$here/../shared/models/pfld-0.25x-98-wflw.onnx
bin=$here/build/release/examples
quick=0
die() { echo "train_shipped.sh: $*" >&2; exit 2; }
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1; shift; continue ;;
    --data | --val | --runs | --wflw | --bin) [ -n "${2:-}" ] || die "$1 needs a value" ;;
    *) die "unknown argument '$1' (see the comment at the top of this file)" ;;
  esac
  case $1 in
    --data) data=$2 ;;
    --val) val=$2 ;;
    --runs) runs=$2 ;;
    --wflw) wflw=$2 ;;
    --bin) bin=$2 ;;
  esac
  shift 2
done
[ -x "$bin/pfld_train" ] || die "$bin/pfld_train is missing: build it (cmake --build build/release --target pfld_train) or give --bin"
[ -d "$data" ] || die "$data: no such folder (--data)"
[ -d "$val" ] || die "$val: no such folder (--val)"
[ -f "$wflw" ] || die "$wflw: no such file (--wflw)"
if [ -z "$runs" ]; then
  runs=runs
  [ "$quick" = 0 ] || runs=runs/quick
fi
mkdir -p "$runs"

# stage NAME EPOCHS [pfld_train options...]: one run of pfld_train into $runs/NAME.
stage() {
  local name=$1 epochs=$2 out=$runs/$1
  shift 2
  [ "$quick" = 1 ] && epochs=1
  if [ -f "$out/done.json" ]; then
    grep -q "\"epochs\": $epochs," "$out/done.json" ||
      die "$out was trained for another number of epochs ($(cat "$out/done.json")): give another --runs"
    echo "== $name: done before ($(cat "$out/done.json"))"
    return
  fi
  local resume=()
  [ -f "$out/last.ckpt" ] && resume=(--resume "$out/last.ckpt")
  echo "== $name: $epochs epochs${resume:+, resumed}"
  mkdir -p "$out"
  "$bin/pfld_train" --data "$data" --val "$val" --out "$out" --epochs "$epochs" --batch 32 --loss l2 --distance l1 \
    --threads 1 "${resume[@]}" "$@" | tail -n 1 >"$out/done.json.part"
  mv "$out/done.json.part" "$out/done.json"
  echo "== $name: $(cat "$out/done.json")"
}
light=(--rotation 10 --shift 0.05 --occlusion 0.1)  # the lighter augmentation of the later stages

# Stages 1-3 of each width, then the 1X's stages 4-5 (batch norm frozen), whose stage 5 teaches the
# 0.25X's stage 4.
stage 025_s1 350 --width 0.25 --lr 3e-3
stage 025_s2 400 --width 0.25 --lr 1e-3 --rotation 20 --init "$runs/025_s1/best.pfld"
stage 025_s3 100 --width 0.25 --lr 3e-4 "${light[@]}" --init "$runs/025_s2/best.pfld"
stage 1x_s1 70 --width 1 --lr 3e-3
stage 1x_s2 70 --width 1 --lr 1e-3 --rotation 20 --init "$runs/1x_s1/best.pfld"
stage 1x_s3 150 --width 1 --lr 5e-4 --rotation 20 --init "$runs/1x_s2/best.pfld"
stage 1x_s4 140 --width 1 --lr 3e-4 "${light[@]}" --init "$runs/1x_s3/best.pfld"
stage 1x_s5 20 --width 1 --lr 1e-4 "${light[@]}" --freeze-bn --init "$runs/1x_s4/best.pfld"
stage 025_s4 60 --width 0.25 --lr 3e-4 "${light[@]}" --freeze-bn --init "$runs/025_s3/best.pfld" \
  --teacher "$runs/1x_s5/best.pfld" --teacher-weight 0.5
stage 1x_s6 20 --width 1 --lr 1e-4 "${light[@]}" --freeze-bn --init "$runs/1x_s5/best.pfld" \
  --teacher "$runs/1x_s5/best.pfld" --teacher-mirror --teacher-weight 0.5

# The last stages: three teachers (the WFLW model, the 1X's stage 6, the 0.25X's stage 4), each mirrored
# and read out on the training faces; no flips, so 300-W's left-right differences stay.
teachers=(--teacher "$wflw" --teacher "$runs/1x_s6/best.pfld" --teacher "$runs/025_s4/best.pfld" --teacher-mirror
          --teacher-readout --teacher-weight 0.7 --flip 0)
stage 025_s5 60 --width 0.25 --lr 3e-4 "${light[@]}" --freeze-bn --init "$runs/025_s4/best.pfld" "${teachers[@]}"
stage 1x_s7 20 --width 1 --lr 1e-4 "${light[@]}" --freeze-bn --init "$runs/1x_s6/best.pfld" "${teachers[@]}"

cp "$runs/025_s5/best.pfld" "$runs/pfld-0.25x-68.pfld"
cp "$runs/1x_s7/best.pfld" "$runs/pfld-1x-68.pfld"
echo "== $runs/pfld-0.25x-68.pfld and $runs/pfld-1x-68.pfld; measure them with pfld_eval --weights FILE --data $val"
