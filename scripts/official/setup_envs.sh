#!/usr/bin/env bash
# Create the two evaluation environments of the paper profile on a GPU machine with
# network access (their pins clash with each other and with this project):
#   .envs/vbench      official VBench / VBench-I2V at a pinned commit (+ ViCLIP for
#                     overall_consistency = the paper's video-text alignment)
#   .envs/videoscore  VideoScore (Mantis-Idefics2) with transformers 4.45
# Weights are downloaded by the tools themselves on first use (VBench's cache:
# ~/.cache/vbench; Hugging Face cache for VideoScore). Usage:
#   bash scripts/official/setup_envs.sh            # both
#   bash scripts/official/setup_envs.sh vbench     # one
set -euo pipefail
cd "$(dirname "$0")/../.."
VBENCH_COMMIT=${VBENCH_COMMIT:-c327ef8e102710bfa7eecf9d37d7eff678491695}     # i2v_subject with 0.4/0.3/0.3 weights
VIDEOSCORE_COMMIT=${VIDEOSCORE_COMMIT:-d5884462c94a34939da45eb11e2088d22b1fc15d}
MANTIS_COMMIT=${MANTIS_COMMIT:-main}
TORCH_INDEX=${TORCH_INDEX:-https://download.pytorch.org/whl/cu121}
mkdir -p .envs .envs/src
want=${1:-all}

if [[ $want == all || $want == vbench ]]; then
  [[ -d .envs/src/VBench ]] || git clone https://github.com/Vchitect/VBench .envs/src/VBench
  git -C .envs/src/VBench checkout "$VBENCH_COMMIT"
  python3 -m venv .envs/vbench
  .envs/vbench/bin/pip install --upgrade pip
  # VBench's documented stack: torch 2.x with a matching torchvision (it imports torchvision).
  .envs/vbench/bin/pip install "torch==2.1.2" "torchvision==0.16.2" --index-url "$TORCH_INDEX"
  .envs/vbench/bin/pip install -r .envs/src/VBench/requirements.txt
  .envs/vbench/bin/pip install -e .envs/src/VBench decord
  echo "$VBENCH_COMMIT" > .envs/vbench/VBENCH_COMMIT
  echo "VBench environment ready: .envs/vbench (commit $VBENCH_COMMIT)"
fi

if [[ $want == all || $want == videoscore ]]; then
  [[ -d .envs/src/VideoScore ]] || git clone https://github.com/TIGER-AI-Lab/VideoScore .envs/src/VideoScore
  git -C .envs/src/VideoScore checkout "$VIDEOSCORE_COMMIT"
  python3 -m venv .envs/videoscore
  .envs/videoscore/bin/pip install --upgrade pip
  .envs/videoscore/bin/pip install "torch==2.3.1" --index-url "$TORCH_INDEX"
  # transformers 4.43 silently drops images in Mantis-Idefics2; 4.45.x works.
  .envs/videoscore/bin/pip install "transformers==4.45.2" "git+https://github.com/TIGER-AI-Lab/Mantis.git@${MANTIS_COMMIT}" av numpy pillow
  echo "$VIDEOSCORE_COMMIT" > .envs/videoscore/VIDEOSCORE_COMMIT
  echo "VideoScore environment ready: .envs/videoscore (commit $VIDEOSCORE_COMMIT)"
fi
