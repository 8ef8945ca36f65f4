#!/usr/bin/env python3
"""HF transformers side of the generation row of `make bench`: `model.generate` (greedy, KV cache, left padding)
on the prompts that crates/finetune/examples/gen_bench.rs decoded (its --dump file), in the same length-sorted
batches, with the same max_new_tokens, stop ids and pad id. sdpa attention; f32 on CPU with the same thread
count by default, or `--device cuda --dtype bf16` as gen_bench is run on a GPU.

    python bench/ref_generate.py MODEL_DIR DUMP.json [--threads 1] [--device cpu|cuda] [--dtype f32|bf16]

Prints one JSON line: sequences/s, peak RSS and how many sequences equal ours token for token.
"""

import json
import time

import torch
from transformers import AutoModelForCausalLM

from ref_common import parser, peak_rss


def main():
    ap = parser()
    ap.add_argument("--dtype", default="f32", choices=["f32", "bf16"])
    args = ap.parse_args()
    device = torch.device(args.device)
    dtype = torch.float32 if args.dtype == "f32" else torch.bfloat16
    torch.set_num_threads(args.threads)
    with open(args.dump) as f:
        dump = json.load(f)
    model = AutoModelForCausalLM.from_pretrained(args.model, torch_dtype=dtype, attn_implementation="sdpa").to(device)
    model.eval()
    prompts, stop, pad = dump["prompts"], dump["stop_ids"], dump["pad_id"]
    # The order gen_bench decodes in: longest first, ties in input order (a stable sort).
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    def batches():
        for start in range(0, len(order), dump["batch_size"]):
            batch = order[start:start + dump["batch_size"]]
            longest = max(len(prompts[i]) for i in batch)
            ids = torch.tensor([[pad] * (longest - len(prompts[i])) + prompts[i] for i in batch]).to(device)
            mask = torch.tensor([[0] * (longest - len(prompts[i])) + [1] * len(prompts[i]) for i in batch]).to(device)
            yield batch, longest, ids, mask

    # The prefill alone, as gen_bench times it: the same batches with one new token (also a warm-up).
    t0 = time.perf_counter()
    for _, _, ids, mask in batches():
        with torch.no_grad():
            model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=1, do_sample=False,
                           eos_token_id=stop, pad_token_id=pad)
    if device.type == "cuda":
        torch.cuda.synchronize()
    prefill_secs = time.perf_counter() - t0
    outputs = [None] * len(prompts)
    t0 = time.perf_counter()
    for batch, longest, ids, mask in batches():
        with torch.no_grad():
            out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=dump["max_new_tokens"],
                                 do_sample=False, eos_token_id=stop, pad_token_id=pad)
        for row, i in enumerate(batch):
            new = out[row, longest:].tolist()
            cut = next((k for k, t in enumerate(new) if t in stop), len(new))
            outputs[i] = new[:cut]
    secs = time.perf_counter() - t0
    same = sum(1 for a, b in zip(outputs, dump["outputs"]) if a == b)
    print(json.dumps({"threads": args.threads, "device": str(device), "dtype": args.dtype, "sequences": len(prompts), "secs": secs, "prefill_secs": prefill_secs,
                      "sequences_per_s": len(prompts) / secs, "peak_rss_bytes": peak_rss(),
                      "identical_to_ours": same, "new_tokens": sum(len(o) for o in outputs)}))


if __name__ == "__main__":
    main()
