#!/usr/bin/env bash
# The tools on bad input: each case must exit with the status it names (2: a mistake on the command
# line, 1: a missing or corrupt file, bad data; never a crash) and report it as one line on stderr,
# "<tool>: <what>", that contains the given text. A command-line mistake prints nothing else; after
# other errors that line is the last. `--help` prints the usage on stdout and exits with 0.
#
#   bash tests/tool_errors.sh TOOLS_DIR SOURCE_DIR
set -uo pipefail

bin=${1:?usage: tool_errors.sh TOOLS_DIR SOURCE_DIR}
src=${2:?usage: tool_errors.sh TOOLS_DIR SOURCE_DIR}
weights="$src/weights/pfld-0.25x-68.pfld"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# An 8x8 grey BMP (one of the formats pfld reads), and folders of faces annotated on it.
bmp() {
  printf 'BM\xf6\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x08\x00\x00\x00\x08\x00\x00\x00'
  printf '\x01\x00\x18\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x13\x0b\x00\x00\x13\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
  head -c 192 /dev/zero | tr '\0' '\200'
}
pts() {  # pts POINTS [FIRST_X]: a 300-W .pts file
  echo "version: 1"
  echo "n_points: $1"
  echo "{"
  echo "${2:-1} 1"
  for ((i = 1; i < $1; ++i)); do echo "$((1 + i % 6)) $((1 + i / 12))"; done
  echo "}"
}
bmp > "$tmp/face.bmp"
mkdir -p "$tmp/nan" "$tmp/five" "$tmp/unreadable"
cp "$tmp/face.bmp" "$tmp/nan/a.bmp" && pts 68 nan > "$tmp/nan/a.pts"
cp "$tmp/face.bmp" "$tmp/five/a.bmp" && pts 5 > "$tmp/five/a.pts"
printf 'not an image' > "$tmp/unreadable/a.bmp" && pts 68 > "$tmp/unreadable/a.pts"
printf 'not an image' > "$tmp/text.jpg"
head -c 1000 "$weights" > "$tmp/truncated.pfld"
printf '\x0a\xff\xff\xff\x0f' > "$tmp/truncated.onnx"

failures=0 cases=0
# fail_case WHAT: counts a failed case, naming it, with the first lines of its stderr.
fail_case() {
  failures=$((failures + 1))
  echo "FAIL: $1"
  sed 's/^/  stderr: /' "$tmp/err" | head -n 5
}
# expect STATUS TEXT TOOL ARGS...: TOOL is a program in TOOLS_DIR, or a path to one elsewhere (its
# report then starts with the file's name).
expect() {
  local status=$1 text=$2 program=$3
  shift 3
  [[ "$program" == */* ]] || program=$bin/$program
  local tool=${program##*/}
  cases=$((cases + 1))
  local got
  "$program" "$@" > "$tmp/out" 2> "$tmp/err"
  got=$?
  local lines last
  lines=$(wc -l < "$tmp/err")
  last=$(tail -n 1 "$tmp/err")
  local problem=""
  if [ "$got" != "$status" ]; then problem="exit status $got, expected $status"
  elif [[ "$last" != "$tool: "* ]]; then problem="last stderr line does not start with '$tool: '"
  elif [[ "$last" != *"$text"* ]]; then problem="last stderr line lacks '$text'"
  elif [ "$status" = 2 ] && [ "$lines" != 1 ]; then problem="$lines stderr lines for a command-line mistake"
  fi
  if [ -n "$problem" ]; then fail_case "$tool $*: $problem"; fi
}
# help TOOL: usage on stdout, status 0
help() {
  cases=$((cases + 1))
  if ! "$bin/$1" --help > "$tmp/out" 2> "$tmp/err" || ! grep -q '^usage: ' "$tmp/out"; then
    failures=$((failures + 1))
    echo "FAIL: $1 --help: no usage on stdout, or a non-zero status"
  fi
}

img="$tmp/face.bmp"
PFLD_WEIGHTS_DIR="$tmp/nowhere" expect 1 "cannot find pfld's shipped pfld-0.25x-68.pfld in $tmp/nowhere" pfld_detect "$img"
PFLD_WEIGHTS_DIR="$tmp/nowhere" expect 1 "cannot find pfld's shipped face_detection_yunet_2023mar.onnx" pfld_detect --weights "$weights" "$img"
expect 1 "not a face detector pfld knows" pfld_detect --weights "$weights" "$img" --detector "$img"
expect 1 "missing.onnx: cannot open" pfld_detect --weights "$weights" "$img" --detector "$tmp/missing.onnx"
expect 2 "no image given" pfld_detect --weights "$weights"
expect 2 "--refine takes a whole number from 0 to 10, not '99'" pfld_detect --weights "$weights" "$img" --refine 99
expect 2 "--min-face takes a number" pfld_detect --weights "$weights" "$img" --min-face abc
expect 2 "--box takes X,Y,W,H" pfld_detect --weights "$weights" "$img" --box 1,2,3
expect 2 "--box takes X,Y,W,H" pfld_detect --weights "$weights" "$img" --box 1,2,3,4x
expect 2 "--out needs a value" pfld_detect --weights "$weights" "$img" --out
expect 2 "unknown option '--bogus'" pfld_detect --weights "$weights" "$img" --bogus
expect 2 "more than one image" pfld_detect --weights "$weights" "$img" "$img"
expect 1 "missing.pfld" pfld_detect --weights "$tmp/missing.pfld" "$img" --box 1,1,4,4
expect 1 "corrupt or truncated" pfld_detect --weights "$tmp/truncated.pfld" "$img" --box 1,1,4,4
expect 1 "cannot read image" pfld_detect --weights "$weights" "$tmp/text.jpg" --box 1,1,4,4
expect 1 "entirely outside" pfld_detect --weights "$weights" "$img" --box 5000,5000,10,10
expect 1 "non-finite" pfld_detect --weights "$weights" "$img" --box 1,1,nan,4
expect 1 "missing.xml: cannot open" pfld_detect --weights "$weights" "$img" --detector "$tmp/missing.xml"

expect 2 "--weights is required" pfld_eval --data "$tmp/nan"
expect 2 "give one of --data DIR or --wflw LIST" pfld_eval --weights "$weights"
expect 2 "--threads takes a whole number" pfld_eval --weights "$weights" --data "$tmp/nan" --threads many
expect 2 "--roll takes a number from -180 to 180, not 'nan'" pfld_eval --weights "$weights" --data "$tmp/nan" --roll nan
expect 1 "not a directory" pfld_eval --weights "$weights" --data "$tmp/missing"
expect 1 "not a finite number" pfld_eval --weights "$weights" --data "$tmp/nan"
expect 1 "5 points, expected 68" pfld_eval --weights "$weights" --data "$tmp/five"
expect 1 "a.bmp" pfld_eval --weights "$weights" --data "$tmp/unreadable"
expect 1 "unknown NME normalisation" pfld_eval --weights "$weights" --data "$tmp/five" --norm sideways

expect 2 "give exactly one of --data DIR and --wflw LIST" pfld_train
expect 2 "--epochs takes a whole number from 0 to 1000000, not '1x'" pfld_train --data "$tmp/nan" --epochs 1x
expect 2 "--lr takes a number" pfld_train --data "$tmp/nan" --lr 1e-3abc
expect 2 "--teacher-weight takes a number from 0 to 1, not '2'" pfld_train --data "$tmp/nan" --teacher-weight 2
expect 2 "--batch takes a whole number from 2" pfld_train --data "$tmp/nan" --batch 1
expect 2 "--replica-bn is sync or local, not 'all'" pfld_train --data "$tmp/nan" --replica-bn all
expect 2 "--teacher-mirror needs --teacher FILE" pfld_train --data "$tmp/nan" --teacher-mirror
expect 2 "--epochs 0 trains nothing" pfld_train --data "$tmp/nan" --epochs 0
expect 1 "not a directory" pfld_train --data "$tmp/missing" --out "$tmp/run"
expect 1 "not a finite number" pfld_train --data "$tmp/nan" --out "$tmp/run"

expect 2 "expected two arguments" pfld_convert a b c
expect 2 "by file extension" pfld_convert "$tmp/a.txt" "$tmp/b.txt"
expect 1 "truncated" pfld_convert "$tmp/truncated.onnx" "$tmp/out.pfld"
expect 1 "corrupt or truncated" pfld_convert "$tmp/truncated.pfld" "$tmp/out.onnx"
expect 2 "--quantize needs --data DIR" pfld_convert --quantize "$weights" "$tmp/q.pfld"
expect 2 "--range takes min_max, percentile or mse, not 'best'" pfld_convert --quantize --data "$tmp/five" --range best "$weights" "$tmp/q.pfld"
expect 2 "--quantize takes IN.pfld OUT.pfld" pfld_convert --quantize --data "$tmp/five" "$weights"
expect 1 "not a finite number" pfld_convert --quantize --data "$tmp/nan" "$weights" "$tmp/q.pfld"
mkdir -p "$tmp/good" "$tmp/labels-empty" && cp "$tmp/face.bmp" "$tmp/good/a.bmp" && pts 68 > "$tmp/good/a.pts"
"$bin/pfld_convert" --quantize --data "$tmp/good" "$weights" "$tmp/int8.pfld" > /dev/null
expect 1 "int8 already" pfld_convert --quantize --data "$tmp/good" "$tmp/int8.pfld" "$tmp/q.pfld"
# The face detector's int8 ranges: calibrated on the one photo, then found by --detector (the ranges file
# names the ONNX file relative to itself); a corrupt or misnamed ranges file is one line.
yunet="$(cd "$src" && pwd)/weights/face_detection_yunet_2023mar.onnx"
expect 2 "--quantize of a face detector takes IN.onnx OUT.ranges" pfld_convert --quantize --data "$tmp/good" "$yunet" "$tmp/y.pfld"
expect 1 "truncated.onnx" pfld_convert --quantize --data "$tmp/good" "$tmp/truncated.onnx" "$tmp/y.ranges"
expect 1 "no .jpg, .jpeg, .png or .bmp photos" pfld_convert --quantize --data "$tmp/labels-empty" "$yunet" "$tmp/y.ranges"
"$bin/pfld_convert" --quantize --data "$tmp/good" "$yunet" "$tmp/y.ranges" > /dev/null
cases=$((cases + 1))
if ! "$bin/pfld_detect" --weights "$weights" "$img" --detector "$tmp/y.ranges" > "$tmp/out" 2> "$tmp/err"; then
  fail_case "pfld_detect --detector with the ranges pfld_convert wrote: failed"
fi
printf 'pfld activation ranges 1\nrange 2 1 input\n' > "$tmp/bad.ranges"
expect 1 "bad.ranges: line 2: lo and hi must be finite numbers, lo <= hi" pfld_detect --weights "$weights" "$img" --detector "$tmp/bad.ranges"
printf 'pfld activation ranges 1\nrange 0 255 input\n' > "$tmp/nomodel.ranges"
expect 1 "no \"model\" line" pfld_eval --weights "$weights" --data "$tmp/good" --detector "$tmp/nomodel.ranges"
expect 1 "no \"model\" line" pfld_convert "$tmp/nomodel.ranges" "$tmp/y.onnx"
printf 'pfld activation ranges 1\nmodel %s\nrange 0 1 not_a_tensor\n' "$yunet" > "$tmp/other.ranges"
expect 1 "the int8 ranges name tensor 'not_a_tensor'" pfld_convert "$tmp/other.ranges" "$tmp/y.onnx"
cases=$((cases + 1))
if ! "$bin/pfld_convert" "$tmp/y.ranges" "$tmp/y.onnx" > "$tmp/out" 2> "$tmp/err" || ! grep -q "in int8, QDQ form" "$tmp/out" ||
   [ ! -s "$tmp/y.onnx" ]; then
  fail_case "pfld_convert RANGES OUT.onnx: no QDQ model written"
fi

expect 2 "--width takes a number" pfld_info --width abc
expect 2 "--landmarks takes a whole number" pfld_info --landmarks 1.5
expect 1 "corrupt or truncated" pfld_info --weights "$tmp/truncated.pfld"

expect 2 "--count takes a whole number from 1" pfld_contact_sheet --data "$tmp/nan" --count 0
expect 2 "--data DIR is required" pfld_contact_sheet
expect 1 "not a finite number" pfld_contact_sheet --data "$tmp/nan" --out "$tmp/sheet.png"

expect 2 "--threads takes a whole number" pfld_face_calibration --data "$tmp/nan" --threads x
expect 1 "not a face detector pfld knows" pfld_face_calibration --data "$tmp/nan" --detector "$img"
expect 1 "not a finite number" pfld_face_calibration --data "$tmp/nan"

expect 2 "--teacher FILE is required" pfld_label --images "$tmp/good" --out "$tmp/labels"
expect 2 "--images DIR and --out DIR are required" pfld_label --teacher "$weights" --images "$tmp/good"
expect 2 "--teacher-readout needs --data DIR" pfld_label --teacher "$weights" --teacher-readout --images "$tmp/good" --out "$tmp/labels"
expect 2 "--max-spread takes a number from 0 to 1000, not '-1'" pfld_label --teacher "$weights" --max-spread -1
expect 1 "teacher $tmp/truncated.pfld" pfld_label --teacher "$tmp/truncated.pfld" --images "$tmp/good" --out "$tmp/labels"
expect 1 "not a directory" pfld_label --teacher "$weights" --images "$tmp/missing" --out "$tmp/labels"
expect 1 "no .jpg, .jpeg, .png or .bmp photos" pfld_label --teacher "$weights" --images "$tmp/labels-empty" --out "$tmp/labels"
expect 1 "cannot read image" pfld_label --teacher "$weights" --images "$tmp/unreadable" --out "$tmp/labels"
expect 1 "not a finite number" pfld_label --teacher "$weights" --teacher-readout --data "$tmp/nan" --images "$tmp/good" --out "$tmp/labels"
expect 2 "unknown option '--pseudo'" pfld_label --pseudo x
expect 1 "cannot open the list" pfld_train --data "$tmp/good" --pseudo "$tmp/missing.txt" --out "$tmp/run"
expect 2 "--grey takes a number from 0 to 1" pfld_train --data "$tmp/good" --grey 2

expect 2 "expected WEIGHTS IMAGE X Y W H" pfld_embed "$weights" "$img" 1 2 3
expect 1 "'abc' is not a number" pfld_embed "$weights" "$img" abc 1 4 4
expect 1 "entirely outside" pfld_embed "$weights" "$img" 500 500 4 4
expect 1 "truncated" pfld_embed "$tmp/truncated.pfld" "$img" 1 1 4 4
# The same host built lean (PFLD_KERNELS_AVX512=0 PFLD_KERNELS_INT8=0 PFLD_KERNELS_TRAINING=0; x86-64
# builds make it): it runs
# float and int8 files (the int8 ones on the reference's int8 kernels, to within 0.05 pixel of the full
# build), and names the build, not the CPU, when asked for the AVX-512 kernels.
if [ -x "$bin/pfld_embed_lean" ]; then
  cases=$((cases + 1))
  if ! "$bin/pfld_embed_lean" "$weights" "$img" 1 1 6 6 > "$tmp/out" 2> "$tmp/err" || [ "$(wc -l < "$tmp/out")" != 68 ]; then
    fail_case "pfld_embed_lean on a face: no 68 landmarks"
  fi
  cases=$((cases + 1))
  if ! "$bin/pfld_embed_lean" "$tmp/int8.pfld" "$img" 1 1 6 6 > "$tmp/lean" 2> "$tmp/err" ||
     ! "$bin/pfld_embed" "$tmp/int8.pfld" "$img" 1 1 6 6 > "$tmp/full" 2>> "$tmp/err" ||
     [ "$(wc -l < "$tmp/lean")" != 68 ] ||
     ! paste "$tmp/lean" "$tmp/full" | awk '{ d = $1 - $3; e = $2 - $4; if (d * d + e * e > 0.0025) bad = 1 } END { exit bad }'; then
    fail_case "pfld_embed_lean on int8 weights: not the full build's 68 landmarks"
  fi
  cases=$((cases + 1))
  PFLD_ISA=avx512 "$bin/pfld_embed_lean" "$weights" "$img" 1 1 6 6 > "$tmp/out" 2> "$tmp/err"
  if [ $? != 1 ] || [ "$(cat "$tmp/err")" != "pfld_embed: PFLD_ISA=avx512: this build leaves its kernels out" ]; then
    fail_case "PFLD_ISA=avx512 pfld_embed_lean: not one line naming the build"
  fi
fi

# The shipped weights' training pipeline, which runs pfld_train from --bin.
pipeline=$src/weights/train_shipped.sh
expect 2 "unknown argument '--bogus'" "$pipeline" --bogus
expect 2 "--data needs a value" "$pipeline" --bin "$bin" --data
expect 2 "no such folder (--data)" "$pipeline" --bin "$bin" --data "$tmp/missing"
expect 2 "pfld_train is missing" "$pipeline" --bin "$tmp"

for tool in pfld_detect pfld_eval pfld_train pfld_convert pfld_info pfld_contact_sheet pfld_face_calibration pfld_label; do
  help "$tool"
done

# Hostile files: the fuzzers' seeds and every input that once crashed a reader (tests/fuzz/), each given to
# a tool that reads that kind of file. A tool may accept one (exit 0), or refuse it with exit status 1 and
# one report line, the last on stderr, "<tool>: <what>"; never a signal or a sanitizer report.
survive() {
  local file=$1 program=$2
  shift 2
  cases=$((cases + 1))
  "$bin/$program" "$@" > "$tmp/out" 2> "$tmp/err"
  local got=$? problem=""
  if [ "$got" != 0 ] && [ "$got" != 1 ]; then problem="exit status $got"
  elif [ "$got" = 1 ] && [[ "$(tail -n 1 "$tmp/err")" != "$program: "* ]]; then
    problem="the last stderr line does not start with '$program: '"
  elif [ "$got" = 1 ] && [ "$(grep -c "^$program: " "$tmp/err")" != 1 ]; then problem="more than one report line"
  fi
  if [ -n "$problem" ]; then
    failures=$((failures + 1))
    echo "FAIL: $program $* ($file): $problem"
    sed 's/^/  stderr: /' "$tmp/err" | head -n 5
  fi
}
fuzz=$src/tests/fuzz
for f in "$fuzz"/corpus/model_file/* "$fuzz"/regressions/model_file/*; do
  [ -f "$f" ] || continue
  survive "$f" pfld_info --weights "$f"
  survive "$f" pfld_convert "$f" "$tmp/hostile.onnx"
  survive "$f" pfld_detect --weights "$f" "$img" --box 1,1,4,4
done
mkdir -p "$tmp/faces68"
for face in a b; do cp "$img" "$tmp/faces68/$face.bmp" && pts 68 > "$tmp/faces68/$face.pts"; done
for f in "$fuzz"/corpus/checkpoint/* "$fuzz"/regressions/checkpoint/*; do
  [ -f "$f" ] && survive "$f" pfld_train --data "$tmp/faces68" --batch 2 --width 0.25 --resume "$f" --out "$tmp/resumed" --epochs 1
done
for f in "$fuzz"/corpus/onnx/* "$fuzz"/regressions/onnx/* "$fuzz"/corpus/onnx_to_pfld/* "$fuzz"/regressions/onnx_to_pfld/*; do
  [ -f "$f" ] || continue
  cp "$f" "$tmp/hostile.onnx"
  survive "$tmp/hostile.onnx" pfld_detect --weights "$tmp/hostile.onnx" "$img" --box 1,1,4,4
  survive "$tmp/hostile.onnx" pfld_convert "$tmp/hostile.onnx" "$tmp/hostile.pfld"
  survive "$tmp/hostile.onnx" pfld_detect --weights "$weights" "$img" --detector "$tmp/hostile.onnx"
done
for f in "$fuzz"/corpus/ranges/* "$fuzz"/regressions/ranges/*; do
  [ -f "$f" ] || continue
  cp "$f" "$tmp/hostile.ranges"  # (beside no ONNX file: a good one names a model that is not there)
  survive "$f" pfld_detect --weights "$weights" "$img" --detector "$tmp/hostile.ranges"
done
for f in "$fuzz"/corpus/image/* "$fuzz"/regressions/image/*; do
  [ -f "$f" ] && survive "$f" pfld_detect --weights "$weights" "$f" --box 1,1,4,4
done
for f in "$fuzz"/corpus/cascade/* "$fuzz"/regressions/cascade/*; do
  [ -f "$f" ] || continue
  cp "$f" "$tmp/hostile.xml"
  survive "$f" pfld_detect --weights "$weights" "$img" --detector "$tmp/hostile.xml"
done
for f in "$fuzz"/corpus/pts/* "$fuzz"/regressions/pts/*; do
  [ -f "$f" ] || continue
  rm -rf "$tmp/hostile_faces" && mkdir -p "$tmp/hostile_faces"
  cp "$img" "$tmp/hostile_faces/face.bmp" && cp "$f" "$tmp/hostile_faces/face.pts"
  survive "$tmp/hostile_faces/face.pts" pfld_eval --weights "$weights" --data "$tmp/hostile_faces" --landmarks 68
done
for f in "$fuzz"/corpus/wflw/* "$fuzz"/regressions/wflw/*; do
  [ -f "$f" ] && survive "$f" pfld_eval --weights "$weights" --wflw "$f" --images "$tmp"
done

echo "tool errors: $cases cases, $failures failed"
[ "$failures" = 0 ]
