"""Tiny model settings shared by the tests (see conftest.py)."""

TINY_TOY = {
    "dir": None,  # filled per test
    "vae": {"base_dim": 4, "z_dim": 4, "dim_mult": [1, 2], "temporal_downsample": [True], "patch_size": 2, "num_res_blocks": 1},
    "transformer": {"patch_size": [1, 2, 2], "num_layers": 1, "num_attention_heads": 2, "attention_head_dim": 8, "ffn_dim": 32, "freq_dim": 16},
    "text_encoder": {"d_model": 16, "num_layers": 1, "num_heads": 2, "d_ff": 32},
}
CAPTIONS = ["a red cup on a table", "a cat looks at the camera", "gravel seen from above"]
