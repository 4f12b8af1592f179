#!/usr/bin/env bash
# Data-parallel training under MPI (CMake and Meson run this where they find MPI):
#
#   bash tests/distributed/run.sh MPIEXEC DISTRIBUTED_TEST PFLD_TRAIN
#
# 1. pfld_distributed_test on 2 ranks: the replicas reach one process's weights (synchronised batch
#    norm), local batch norm differs, every rank holds rank 0's weights, one rank's stop reaches all.
# 2. The same with rank 1 killed after its first step: the job must end, non-zero, within a minute.
# 3. pfld_train on 2 ranks over a small folder: exit 0, one result line (rank 0's), its files written;
#    then its checkpoint resumed by one process.
# 4. pfld_train on 3 ranks over 4 faces with a global batch of 6 (2 a rank): one line naming the short shard, exit 1.
set -uo pipefail

mpiexec=${1:?usage: run.sh MPIEXEC DISTRIBUTED_TEST PFLD_TRAIN}
test_bin=${2:?usage: run.sh MPIEXEC DISTRIBUTED_TEST PFLD_TRAIN}
train=${3:?usage: run.sh MPIEXEC DISTRIBUTED_TEST PFLD_TRAIN}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

launch=("$mpiexec")
if "$mpiexec" --version 2>&1 | grep -qE "Open MPI|OpenRTE"; then
  # CI runs as root; 3 ranks on a 2-core machine need oversubscription.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  launch+=(--oversubscribe)
fi

failures=0
fail() {
  echo "FAIL: $1"
  sed 's/^/  /' "$tmp/err" | head -n 12
  failures=$((failures + 1))
}

# 1.
if timeout 300 "${launch[@]}" -np 2 "$test_bin" > "$tmp/out" 2> "$tmp/err"; then
  echo "ok: $(cat "$tmp/out")"
else
  fail "2 ranks do not train as one process"
fi

# 2.
start=$(date +%s)
timeout 120 "${launch[@]}" -np 2 "$test_bin" --die > "$tmp/out" 2> "$tmp/err"
status=$?
elapsed=$(($(date +%s) - start))
if [ "$status" -eq 0 ] || [ "$status" -eq 124 ] || [ "$elapsed" -gt 60 ]; then
  fail "a dead rank: exit $status after $elapsed s (expected non-zero, within 60 s)"
else
  echo "ok: a rank killed mid-run ends the job (exit $status, $elapsed s)"
fi

# Faces: an 8x8 grey BMP with 68 points on it, copied.
bmp() {
  printf 'BM\xf6\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00\x28\x00\x00\x00\x08\x00\x00\x00\x08\x00\x00\x00'
  printf '\x01\x00\x18\x00\x00\x00\x00\x00\xc0\x00\x00\x00\x13\x0b\x00\x00\x13\x0b\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00'
  head -c 192 /dev/urandom
}
pts() {
  echo "version: 1"
  echo "n_points: 68"
  echo "{"
  for ((i = 0; i < 68; ++i)); do echo "$((1 + i % 6)).$((i % 10)) $((1 + i / 12)).5"; done
  echo "}"
}
mkdir -p "$tmp/faces" "$tmp/four"
for i in 1 2 3 4 5 6 7 8; do bmp > "$tmp/faces/$i.bmp" && pts > "$tmp/faces/$i.pts"; done
for i in 1 2 3 4; do cp "$tmp/faces/$i.bmp" "$tmp/faces/$i.pts" "$tmp/four/"; done

# 3.
if timeout 300 "${launch[@]}" -np 2 "$train" --data "$tmp/faces" --val "$tmp/four" --epochs 2 --batch 4 --threads 1 \
     --out "$tmp/run" > "$tmp/out" 2> "$tmp/err" &&
   [ "$(grep -c '"best_val_nme"' "$tmp/out")" -eq 1 ] && [ -s "$tmp/run/best.pfld" ] && [ -s "$tmp/run/last.ckpt" ] &&
   [ "$(wc -l < "$tmp/run/log.csv")" -eq 3 ]; then
  echo "ok: pfld_train on 2 ranks: $(cat "$tmp/out")"
else
  fail "pfld_train on 2 ranks"
fi

# 3b. Its checkpoint resumed by one process (another number of ranks): the third epoch is appended.
if timeout 300 "$train" --data "$tmp/faces" --val "$tmp/four" --epochs 3 --batch 4 --threads 1 --out "$tmp/run" \
     --resume "$tmp/run/last.ckpt" > "$tmp/out" 2> "$tmp/err" && [ "$(wc -l < "$tmp/run/log.csv")" -eq 4 ] &&
   grep -q "resumed from .* at epoch 2" "$tmp/err"; then
  echo "ok: resumed in one process: $(cat "$tmp/out")"
else
  fail "resuming a 2-rank checkpoint in one process"
fi

# 4.
timeout 120 "${launch[@]}" -np 3 "$train" --data "$tmp/four" --epochs 1 --batch 6 --threads 1 --out "$tmp/short" \
  > "$tmp/out" 2> "$tmp/err"
status=$?
reports=$(grep -c '^pfld_train: ' "$tmp/err")
if [ "$status" -ne 0 ] && [ "$status" -ne 124 ] && [ "$reports" -eq 1 ] &&
   grep -q "^pfld_train: training faces: 4 faces over 3 ranks leave too few in the shard of rank 1 (1), 2 (1)" "$tmp/err"; then
  echo "ok: a short shard: $(grep '^pfld_train: ' "$tmp/err")"
else
  fail "a short shard: exit $status, $reports report lines"
fi

[ "$failures" -eq 0 ] || { echo "$failures distributed case(s) failed"; exit 1; }
echo "distributed: all cases passed"
