"""Export an LDM (diffusers folder, single file or ``embedded:NAME``) as a diffusers folder.

Used by ``make toy-ldm`` to ship the trained toy LDM in the package as fp16 safetensors::

    python tools/export_ldm.py work_dirs/ldm_toy_6000it_toy-shapes/diffusers \
        diffdet_plugin/assets/toy_ldm --dtype fp16 --max-mb 25 \
        --vae-decoder work_dirs/vae-decoder_toy_2500it_toy-shapes/diffusers

``--vae-decoder`` takes the VAE decoder (and ``post_quant_conv``) of another folder whose
encoder is the same (a decoder fine-tuned on the fixed encoder, stage 1b of the toy recipe);
the export refuses a folder whose encoder differs.

``--layers-per-block`` deepens the UNet before writing, function-preserving
(:func:`diffdet_plugin.ldm.deepen.deepen_unet`: the new layers start as identities), so that
training continues from the trained model with more capacity::

    python tools/export_ldm.py work_dirs/ldm_toy_6000it_toy-shapes/diffusers \
        work_dirs/ldm_toy-l2211_start --dtype fp32 --layers-per-block 2 2 1 1
"""
import argparse
import json
import os
import os.path as osp
import shutil
import sys

from diffdet_plugin.ldm import FrozenLDM


def folder_mb(path: str) -> float:
    return sum(osp.getsize(osp.join(r, f)) for r, _, fs in os.walk(path) for f in fs) / 2**20


def fidelity_measures(rec: dict) -> dict:
    """The graded measures of one LDM row of a fidelity report (higher is better)."""
    out = {'t2i precision': rec['text_to_image']['precision'],
           't2i recall': rec['text_to_image']['recall']}
    plain = rec.get('text_to_image_colourless')
    if plain:
        out.update({'t2i precision (colourless)': plain['precision'],
                    't2i recall (colourless)': plain['recall']})
    out.update({f'img2img fidelity r={r}': v['fidelity'] for r, v in rec['img2img'].items()})
    return out


def strip_source_paths(folder: str, src: str) -> None:
    """diffusers records each component's load path (``_name_or_path``) in its config.json: an
    export keeps it only when relative (a recipe's work_dirs path), not a machine's own path."""
    for name in os.listdir(folder):
        cfg = osp.join(folder, name, 'config.json')
        if not osp.isfile(cfg):
            continue
        with open(cfg) as f:
            data = json.load(f)
        if osp.isabs(str(data.get('_name_or_path', ''))):
            data['_name_or_path'] = name
            with open(cfg, 'w') as f:
                json.dump(data, f, indent=2, sort_keys=True)
                f.write('\n')


def check_not_worse(src: str, out: str, report: str | None):
    """Refuse to replace the model at ``out`` by ``src`` unless the fidelity report (val)
    shows ``src`` at least as good on every measure both rows have."""
    shipped = FrozenLDM.build(pretrained=out).fingerprint
    candidate = FrozenLDM.build(pretrained=src).fingerprint
    if shipped == candidate:
        return
    if report is None:
        raise SystemExit(
            f'{out} holds another model (fingerprint {shipped}); replacing it needs a fidelity '
            f'report on val that grades both (tools/benchmark.py fidelity --ldm new={src} '
            f'--ldm shipped={out} --split val --colourless), given as --fidelity, or --force.')
    with open(report) as f:
        data = json.load(f)
    rows = data.get('ldms', {})
    by_fp = {r.get('fingerprint'): r for r in rows.values()}
    missing = [n for n, fp in (('src', candidate), ('the model at OUT', shipped))
               if fp not in by_fp]
    if missing:
        raise SystemExit(f'--fidelity {report}: no row for {" or ".join(missing)} (fingerprints '
                         f'{candidate} / {shipped}); grade both in one report.')
    if data.get('args', {}).get('split') != 'val':
        raise SystemExit(f'--fidelity {report}: the export is chosen on the val split; this '
                         'report is not on val.')
    new, old = fidelity_measures(by_fp[candidate]), fidelity_measures(by_fp[shipped])
    worse = [f'{k} {new[k]:.3f} < {old[k]:.3f}' for k in old if k in new and new[k] < old[k]]
    if worse:
        raise SystemExit(f'{src} is worse than the model at {out} on val: {"; ".join(worse)}. '
                         'Not exported (--force to export anyway).')


def main():
    p = argparse.ArgumentParser(description='Export an LDM as a diffusers folder')
    p.add_argument('src', help='diffusers folder, hub id, .ckpt/.safetensors or embedded:NAME')
    p.add_argument('out', help='output diffusers folder (replaced)')
    p.add_argument('--dtype', default='fp16', choices=['fp32', 'fp16', 'bf16'])
    p.add_argument('--max-mb', type=float, default=None,
                   help='fail if the exported folder is larger than this (MiB)')
    p.add_argument('--vae-decoder', help='diffusers folder whose VAE decoder replaces the one '
                   'of src (its encoder must be identical)')
    p.add_argument('--layers-per-block', type=int, nargs='+', metavar='N',
                   help='deepen the UNet to N layers per down block (function-preserving)')
    p.add_argument('--fidelity', metavar='JSON',
                   help='a `tools/benchmark.py fidelity --split val` report (fidelity.json) that '
                   'grades both src and the model now at OUT: replacing that model is refused '
                   'unless src is at least as good on every measure')
    p.add_argument('--force', action='store_true',
                   help='replace the model at OUT without the fidelity check')
    args = p.parse_args()
    if not args.force and osp.isfile(osp.join(args.out, 'model_index.json')):
        check_not_worse(args.src, args.out, args.fidelity)
    ldm = FrozenLDM.build(pretrained=args.src, dtype=args.dtype)
    if args.layers_per_block:
        from diffdet_plugin.ldm.deepen import deepen_unet
        try:
            ldm.unet = deepen_unet(ldm.unet, args.layers_per_block)
        except ValueError as e:
            raise SystemExit(f'--layers-per-block: {e}')
        ldm._fingerprint = None
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
    strip_source_paths(tmp, args.src)
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
