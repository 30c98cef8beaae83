#!/usr/bin/env bash
# Create the evaluation environments of the paper profile (their pins clash with each
# other and with this project's):
#   .envs/vbench       VBench-I2V: the `vbench` 0.1.5 release from PyPI (+ dreamsim),
#                      on a CUDA torch below 2.6 (VBench 0.1.5's motion_smoothness loads
#                      its AMT checkpoint in a way torch 2.6's torch.load rejects)
#   .envs/vbench-cpu   the same package on the CPU, for `make check-official` on a
#                      machine without a GPU or network beyond the package index
#   .envs/videoscore   VideoScore (Mantis-Idefics2) with transformers 4.45
# VBench and VideoScore download their weights on first use (~/.cache/vbench, the
# Hugging Face cache). Usage:
#   bash scripts/official/setup_envs.sh                 # vbench + videoscore (GPU machine)
#   bash scripts/official/setup_envs.sh vbench-cpu      # the CPU check's environment
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-python3}
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cu124}
VBENCH_TAG=v0.1.5                                   # the git tag of the PyPI release
VIDEOSCORE_COMMIT=${VIDEOSCORE_COMMIT:-d5884462c94a34939da45eb11e2088d22b1fc15d}
MANTIS_COMMIT=${MANTIS_COMMIT:-main}
want=${1:-all}
mkdir -p .envs/src

vbench_env() {  # $1: venv folder; the remaining arguments: pip arguments for torch
  local env=$1; shift
  if [[ -f $env/.ready ]]; then echo "$env exists (remove it to rebuild)"; return; fi
  rm -rf "$env"
  "$PYTHON" -m venv "$env"
  "$env/bin/pip" install --quiet --upgrade pip
  "$env/bin/pip" install --quiet "$@"
  # hold torch where it is: nothing VBench pulls in may replace it
  "$env/bin/pip" freeze | grep -E '^(torch|torchvision)==' > "$env/torch-constraint.txt"
  "$env/bin/pip" install --quiet --constraint "$env/torch-constraint.txt" -r scripts/official/vbench-requirements.txt
  touch "$env/.ready"
  echo "VBench environment ready: $env ($("$env/bin/python" -c 'import importlib.metadata as m; print("vbench", m.version("vbench"), "torch", m.version("torch"))'))"
}

if [[ $want == all || $want == vbench ]]; then
  vbench_env .envs/vbench "torch==2.5.1" "torchvision==0.20.1" --index-url "$TORCH_INDEX"
  # camera_motion imports vbench2_beta_i2v.third_party.cotracker, which the wheel leaves
  # out: add that folder from the source of the same release (its tag), nothing else.
  [[ -d .envs/src/VBench-$VBENCH_TAG ]] ||
    git clone --quiet --depth 1 --branch "$VBENCH_TAG" https://github.com/Vchitect/VBench ".envs/src/VBench-$VBENCH_TAG"
  site=$(.envs/vbench/bin/python -c 'import vbench2_beta_i2v, os; print(os.path.dirname(vbench2_beta_i2v.__file__))')
  cp -r ".envs/src/VBench-$VBENCH_TAG/vbench2_beta_i2v/third_party" "$site/"
fi

if [[ $want == vbench-cpu ]]; then
  # PyPI's x86_64 torch 2.14.1 / torchvision 0.29.1 pair (a CUDA build that runs on the
  # CPU): the pair that imports on the project's CPU machines (README, "Official path").
  vbench_env .envs/vbench-cpu "torch==2.14.1" "torchvision==0.29.1"
fi

if [[ $want == all || $want == videoscore ]]; then
  [[ -d .envs/src/VideoScore ]] || git clone https://github.com/TIGER-AI-Lab/VideoScore .envs/src/VideoScore
  git -C .envs/src/VideoScore checkout "$VIDEOSCORE_COMMIT"
  "$PYTHON" -m venv .envs/videoscore
  .envs/videoscore/bin/pip install --upgrade pip
  .envs/videoscore/bin/pip install "torch==2.3.1" --index-url "$TORCH_INDEX"
  # transformers 4.43 silently drops images in Mantis-Idefics2; 4.45.x works.
  .envs/videoscore/bin/pip install "transformers==4.45.2" "git+https://github.com/TIGER-AI-Lab/Mantis.git@${MANTIS_COMMIT}" av numpy pillow
  echo "$VIDEOSCORE_COMMIT" > .envs/videoscore/VIDEOSCORE_COMMIT
  echo "VideoScore environment ready: .envs/videoscore (commit $VIDEOSCORE_COMMIT)"
fi
