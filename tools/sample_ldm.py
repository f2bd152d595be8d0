"""Text-to-image samples of an LDM as one grid PNG (e.g. the toy LDM's model card).

    python tools/sample_ldm.py embedded:toy --out docs/toy_ldm_samples.png \
        --captions data/toy_shapes/annotations/captions_val.json --num 16 --seed 0

Each image starts from pure noise with its own seed (``--seed + i``) and is denoised
with classifier-free guidance by the same loop the synthesis engine runs.
"""
import argparse
import sys

import torch
from diffdet_plugin.ldm import FrozenLDM, text_to_image
from diffdet_plugin.utils import read_captions
from PIL import Image, ImageDraw


def grid(images, captions=None, cols=4, label_h=24):
    n, h, w, _ = images.shape
    rows = (n + cols - 1) // cols
    cell_h = h + (label_h if captions else 0)
    sheet = Image.new('RGB', (cols * w, rows * cell_h), 'white')
    draw = ImageDraw.Draw(sheet)
    for i, img in enumerate(images):
        x, y = (i % cols) * w, (i // cols) * cell_h
        sheet.paste(Image.fromarray(img), (x, y))
        if captions:
            text = captions[i].replace('a photo of ', '')
            words, lines = text.split(), ['']
            for word in words:  # wrap to the cell width (default font, ~6 px per character)
                if len(lines[-1]) + len(word) + 1 > w // 6:
                    lines.append('')
                lines[-1] = (lines[-1] + ' ' + word).strip()
            draw.text((x + 2, y + h + 1), '\n'.join(lines[:2]), fill='black')
    return sheet


def main():
    p = argparse.ArgumentParser(description='Sample an LDM into a grid PNG')
    p.add_argument('model', help='diffusers folder, hub id, single file or embedded:NAME')
    p.add_argument('--out', required=True)
    p.add_argument('--prompt', action='append', help='a prompt (repeatable)')
    p.add_argument('--captions', help='COCO captions json to take prompts from')
    p.add_argument('--num', type=int, default=16)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--steps', type=int, default=30)
    p.add_argument('--guidance', type=float, default=5.0)
    p.add_argument('--cols', type=int, default=4)
    args = p.parse_args()
    prompts = list(args.prompt or [])
    if args.captions:
        prompts += list(read_captions(args.captions).values())
    if not prompts:
        raise SystemExit('Give prompts with --prompt or --captions.')
    prompts = (prompts * args.num)[:args.num]
    torch.manual_seed(args.seed)
    ldm = FrozenLDM.build(pretrained=args.model)
    seeds = [args.seed + i for i in range(len(prompts))]
    images = text_to_image(ldm, prompts, seeds, args.steps, args.guidance).numpy()
    grid(images, prompts, args.cols).save(args.out)
    print(f'{len(prompts)} samples of {args.model} written to {args.out}')
    for i, pr in enumerate(prompts):
        print(f'  {i:2d}: {pr}')


if __name__ == '__main__':
    from diffdet_plugin.utils.cli import run_tool
    sys.exit(run_tool(main))
