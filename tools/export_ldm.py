"""Export an LDM (diffusers folder, single file or ``embedded:NAME``) as a diffusers folder.

Used by ``make toy-ldm`` to ship the trained toy LDM in the package as fp16 safetensors::

    python tools/export_ldm.py work_dirs/ldm_toy_6000it_toy-shapes/diffusers \
        diffdet_plugin/assets/toy_ldm --dtype fp16 --max-mb 25 \
        --vae-decoder work_dirs/vae-decoder_toy_2500it_toy-shapes/diffusers

``--vae-decoder`` takes the VAE decoder (and ``post_quant_conv``) of another folder whose
encoder is the same (a decoder fine-tuned on the fixed encoder, stage 1b of the toy recipe);
the export refuses a folder whose encoder differs.
"""
import argparse
import os
import os.path as osp
import shutil
import sys

from diffdet_plugin.ldm import FrozenLDM


def folder_mb(path: str) -> float:
    return sum(osp.getsize(osp.join(r, f)) for r, _, fs in os.walk(path) for f in fs) / 2**20


def main():
    p = argparse.ArgumentParser(description='Export an LDM as a diffusers folder')
    p.add_argument('src', help='diffusers folder, hub id, .ckpt/.safetensors or embedded:NAME')
    p.add_argument('out', help='output diffusers folder (replaced)')
    p.add_argument('--dtype', default='fp16', choices=['fp32', 'fp16', 'bf16'])
    p.add_argument('--max-mb', type=float, default=None,
                   help='fail if the exported folder is larger than this (MiB)')
    p.add_argument('--vae-decoder', help='diffusers folder whose VAE decoder replaces the one '
                   'of src (its encoder must be identical)')
    args = p.parse_args()
    ldm = FrozenLDM.build(pretrained=args.src, dtype=args.dtype)
    if args.vae_decoder:
        import torch
        other = FrozenLDM.build(pretrained=args.vae_decoder, dtype=args.dtype)
        for name in ('encoder', 'quant_conv'):
            a, b = getattr(ldm.vae, name).state_dict(), getattr(other.vae, name).state_dict()
            if any(not torch.equal(a[k], b[k]) for k in a):
                raise SystemExit(f'--vae-decoder {args.vae_decoder}: its VAE {name} differs from '
                                 f'the one of {args.src}; a decoder only fits its own encoder.')
        ldm.vae.decoder.load_state_dict(other.vae.decoder.state_dict())
        ldm.vae.post_quant_conv.load_state_dict(other.vae.post_quant_conv.state_dict())
        ldm._fingerprint = None
    tmp = args.out.rstrip('/') + '.tmp'
    shutil.rmtree(tmp, ignore_errors=True)
    ldm.save_pretrained(tmp)
    size = folder_mb(tmp)
    if args.max_mb is not None and size > args.max_mb:
        shutil.rmtree(tmp)
        raise SystemExit(f'The exported model takes {size:.1f} MiB, over --max-mb {args.max_mb}.')
    shutil.rmtree(args.out, ignore_errors=True)
    os.replace(tmp, args.out)
    print(f'Exported {args.src} ({args.dtype}, fingerprint {ldm.fingerprint}) to {args.out}: '
          f'{size:.1f} MiB')


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
