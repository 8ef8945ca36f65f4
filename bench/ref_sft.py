#!/usr/bin/env python3
"""HF transformers side of the SFT row of `make bench`: trains the same model folder on the exact token batches
that crates/finetune/examples/sft_bench.rs trained on (its --dump file), with the same per-step learning rates,
AdamW (0.9, 0.999, 1e-8, no weight decay), loss summed over target tokens and divided by the accumulated batch's
target tokens, and global-norm clipping. f32, sdpa attention, on CPU with the same thread count; with
`--device cuda`, f32 weights under bf16 autocast, as the finetune stage trains on CUDA.

    python bench/ref_sft.py MODEL_DIR DUMP.json [--threads 1] [--device cpu|cuda]

Prints one JSON line: tokens, steps, seconds, tokens/s, peak RSS (VmHWM) and the loss of every step.
"""

import contextlib
import json
import time

import torch
from transformers import AutoModelForCausalLM

from ref_common import parser, peak_rss


def main():
    ap = parser()
    args = ap.parse_args()
    device = torch.device(args.device)
    cuda = device.type == "cuda"
    torch.set_num_threads(args.threads)
    with open(args.dump) as f:
        dump = json.load(f)

    t0 = time.perf_counter()
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=torch.float32, attn_implementation="sdpa").to(device)
    model.train()
    load_secs = time.perf_counter() - t0
    opt = torch.optim.AdamW(model.parameters(), lr=dump["lr"][0], betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)

    losses, tokens = [], 0
    t0 = time.perf_counter()
    for step, batches in enumerate(dump["steps"]):
        tensors = []
        for b in batches:
            ids = torch.tensor(b["input_ids"], dtype=torch.long).view(b["rows"], b["width"]).to(device)
            labels = torch.tensor(b["labels"], dtype=torch.long).view(b["rows"], b["width"]).to(device)
            tensors.append((ids, labels))
            tokens += b["real_tokens"]
        loss_tokens = max(1, sum(int((lab[:, 1:] != -100).sum()) for _, lab in tensors))
        opt.zero_grad(set_to_none=True)
        loss_sum = 0.0
        for ids, labels in tensors:
            # Right padding under the causal mask: no real token sees a pad, so no attention mask is passed,
            # as sft_bench does; the loss ignores the padded labels.
            autocast = torch.autocast("cuda", dtype=torch.bfloat16) if cuda else contextlib.nullcontext()
            with autocast:
                logits = model(input_ids=ids).logits[:, :-1, :]
            logits = logits.float()
            summed = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=-100, reduction="sum")
            (summed / loss_tokens).backward()
            loss_sum += summed.item()
        torch.nn.utils.clip_grad_norm_(model.parameters(), dump["max_grad_norm"])
        for g in opt.param_groups:
            g["lr"] = dump["lr"][step]
        opt.step()
        losses.append(loss_sum / loss_tokens)
    if cuda:
        torch.cuda.synchronize()
    secs = time.perf_counter() - t0
    gpu_peak = torch.cuda.max_memory_allocated() if cuda else None
    print(json.dumps({"threads": args.threads, "device": str(device), "gpu_peak_bytes": gpu_peak, "steps": len(dump["steps"]), "load_secs": load_secs, "secs": secs,
                      "peak_rss_bytes": peak_rss(), "tokens": tokens, "tokens_per_s": tokens / secs, "losses": losses}))


if __name__ == "__main__":
    main()
