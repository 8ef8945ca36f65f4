"""Builds tiny randomly initialised checkpoints of every model family inscl-model loads, and records what
`transformers` computes with them, so that the Rust parity tests compare against the reference library at
test time instead of against stored numbers.

    $INSCL_REF_PYTHON crates/model/scripts/make_tiny_models.py OUT_DIR TOKENIZER_DIR
    $INSCL_REF_PYTHON crates/model/scripts/make_tiny_models.py FOLDER TOKENIZER_DIR --greedy-of
    $INSCL_REF_PYTHON crates/model/scripts/make_tiny_models.py FOLDER TOKENIZER_DIR --chat MESSAGE

TOKENIZER_DIR holds a `tokenizer.json` (SmolLM2's); its vocabulary size is the models'. Each variant goes to
OUT_DIR/<name>/ (written by `save_pretrained`, safetensors), its reference to OUT_DIR/<name>.json and
OUT_DIR/<name>.safetensors (the logits), outside the checkpoint folder. Nothing is downloaded. Biases and norm weights are drawn at random too, so that a
kernel that drops them fails the comparison.
"""
import json
import shutil
import sys
from pathlib import Path

import torch
import transformers
from safetensors.torch import save_file
from transformers import (AutoModelForCausalLM, LlamaConfig, MistralConfig, PreTrainedTokenizerFast, Qwen2Config,
                          Qwen3Config)

out, tokenizer_dir = Path(sys.argv[1]), Path(sys.argv[2])
out.mkdir(parents=True, exist_ok=True)
tokenizer = PreTrainedTokenizerFast(tokenizer_file=str(tokenizer_dir / "tokenizer.json"))
VOCAB = tokenizer.backend_tokenizer.get_vocab_size(with_added_tokens=True)
IM_END = tokenizer.convert_tokens_to_ids("<|im_end|>")
# Small sizes, but head_dim 24 != 64 / 4 where the family has a head_dim field.
COMMON = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
              num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-5, initializer_range=0.1,
              bos_token_id=1, eos_token_id=IM_END, pad_token_id=IM_END)

VARIANTS = {
    # Llama with every bias and an explicit head_dim, tied embeddings.
    "llama_bias_tied": (LlamaConfig, dict(head_dim=24, attention_bias=True, mlp_bias=True, tie_word_embeddings=True),
                        {}),
    # Llama 3.x RoPE, untied, the window of the frequency ramp well inside the test sequence; sharded.
    "llama3_untied": (LlamaConfig, dict(head_dim=24, tie_word_embeddings=False, rope_theta=500000.0,
                                        rope_scaling=dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0,
                                                          high_freq_factor=4.0, original_max_position_embeddings=16)),
                      dict(max_shard_size="600KB")),
    "llama_linear": (LlamaConfig, dict(tie_word_embeddings=True, rope_scaling=dict(type="linear", factor=3.0)), {}),
    # Dynamic NTK: max_position_embeddings below the sequence lengths, so the base grows while decoding.
    "llama_dynamic": (LlamaConfig, dict(tie_word_embeddings=True, max_position_embeddings=12,
                                        rope_scaling=dict(rope_type="dynamic", factor=2.0)), {}),
    # Qwen2: q/k/v biases; saved in float16.
    "qwen2": (Qwen2Config, dict(tie_word_embeddings=False, rope_theta=1000000.0), dict(dtype=torch.float16)),
    # Qwen3: q_norm/k_norm and head_dim != hidden / heads; saved in bfloat16.
    "qwen3": (Qwen3Config, dict(head_dim=24, tie_word_embeddings=True), dict(dtype=torch.bfloat16)),
    # Mistral: a sliding window much shorter than the test sequences.
    "mistral": (MistralConfig, dict(head_dim=24, sliding_window=5, tie_word_embeddings=False), {}),
}

LOGITS_TEXT = "The quick brown fox jumps over the lazy dog, and then it runs far away into the woods."
NLL_TEXT = "Paris is the capital of France. It has many museums, parks and old bridges."
PROMPT_TEXT = "Once upon a time"
MAX_NEW = 24
TRAIN = [("Reverse the word.\n\nstone\n\n", "enots"), ("Add one.\n\n41\n\n", "42 is the answer")]


def randomise(model, seed):
    """Biases and norm weights away from their init (0 and 1), so that each of them changes the logits."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
            elif "norm" in name:
                p.copy_(1.0 + torch.randn(p.shape, generator=g) * 0.3)


def fresh(folder):
    # A fresh instance per measurement: dynamic RoPE keeps state between forward calls.
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()


def greedy(model, prompt_ids):
    out = model.generate(torch.tensor([prompt_ids]), max_new_tokens=MAX_NEW, min_new_tokens=MAX_NEW, do_sample=False,
                         eos_token_id=None, pad_token_id=IM_END, output_logits=True, return_dict_in_generate=True)
    ids = out.sequences[0, len(prompt_ids):].tolist()
    margins = []
    for step in out.logits:
        top = step[0].float().topk(2).values
        margins.append(float(top[0] - top[1]))
    return ids, margins


def train_step(model, eos):
    """One micro batch as inscl-finetune builds it: prompt + target + EOS, right padded with EOS, loss on target
    tokens only (summed, divided by their count), global gradient norm over all parameters before clipping."""
    rows = []
    for prompt, target in TRAIN:
        p = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        t = tokenizer(target, add_special_tokens=False)["input_ids"] + [eos]
        rows.append((p + t, [-100] * len(p) + t))
    width = max(len(r[0]) for r in rows)
    ids = torch.tensor([r[0] + [eos] * (width - len(r[0])) for r in rows])
    labels = torch.tensor([r[1] + [-100] * (width - len(r[1])) for r in rows])
    model.train()
    logits = model(ids).logits[:, :-1].float()
    targets = labels[:, 1:]
    loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                             ignore_index=-100, reduction="sum") / (targets != -100).sum()
    loss.backward()
    norm = torch.sqrt(sum((p.grad.double() ** 2).sum() for p in model.parameters() if p.grad is not None))
    return dict(prompts=[p for p, _ in TRAIN], targets=[t for _, t in TRAIN], eos_id=eos,
                input_ids=[r[0] for r in rows], loss=float(loss.detach()), grad_norm=float(norm))


def build(name, config_class, extra, save_kwargs, seed):
    torch.manual_seed(seed)
    config = config_class(**{**COMMON, **extra})
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    randomise(model, seed)
    folder = out / name
    dtype = save_kwargs.pop("dtype", torch.float32)
    model.to(dtype).save_pretrained(folder, safe_serialization=True, **save_kwargs)
    shutil.copy(tokenizer_dir / "tokenizer.json", folder / "tokenizer.json")
    if (tokenizer_dir / "tokenizer_config.json").exists():
        shutil.copy(tokenizer_dir / "tokenizer_config.json", folder / "tokenizer_config.json")
    return folder


def reference(folder):
    ids = tokenizer(LOGITS_TEXT, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = fresh(folder)(torch.tensor([ids])).logits[0].float().contiguous()
    nll_ids = tokenizer(NLL_TEXT, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        nll_logits = fresh(folder)(torch.tensor([nll_ids])).logits[0].float()
    nll = torch.nn.functional.cross_entropy(nll_logits[:-1], torch.tensor(nll_ids[1:]))
    prompt_ids = tokenizer(PROMPT_TEXT, add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        gen_ids, margins = greedy(fresh(folder), prompt_ids)
    save_file({"logits": logits}, str(folder.parent / f"{folder.name}.safetensors"))
    return dict(transformers_version=transformers.__version__, logits_ids=ids, nll_text=NLL_TEXT, nll_ids=nll_ids,
                mean_nll=float(nll), prompt_ids=prompt_ids, greedy_ids=gen_ids, greedy_margins=margins,
                train=train_step(fresh(folder), IM_END))


def check_resaved(folder):
    """Greedy ids of a checkpoint written back by inscl (`LlamaModel::save_hf`), loaded by transformers."""
    prompt_ids = tokenizer(PROMPT_TEXT, add_special_tokens=False)["input_ids"]
    model = fresh(folder)
    with torch.no_grad():
        ids, margins = greedy(model, prompt_ids)
    print(json.dumps(dict(model_type=model.config.model_type, greedy_ids=ids, greedy_margins=margins)))


def chat(folder, message):
    """transformers' rendering of one user turn with the folder's chat template."""
    from transformers import AutoTokenizer
    rendered = AutoTokenizer.from_pretrained(folder).apply_chat_template(
        [dict(role="user", content=message)], tokenize=False, add_generation_prompt=True)
    print(json.dumps(rendered))


if __name__ == "__main__":
    if len(sys.argv) > 4 and sys.argv[3] == "--chat":
        chat(Path(sys.argv[1]), sys.argv[4])
        sys.exit(0)
    if len(sys.argv) > 3 and sys.argv[3] == "--greedy-of":
        check_resaved(Path(sys.argv[1]))
        sys.exit(0)
    for seed, (name, (config_class, extra, save_kwargs)) in enumerate(VARIANTS.items()):
        folder = build(name, config_class, extra, dict(save_kwargs), 1000 + seed)
        (out / f"{name}.json").write_text(json.dumps(reference(folder)))
    print("wrote", ", ".join(VARIANTS), "to", out)
