#!/bin/sh
# Draws icons/source.png, the 1024x1024 master from which `tauri icon` derives every platform
# icon (png, ico, icns). Only ImageMagick primitives are used, so the icon is reproducible
# offline and needs no SVG renderer. After changing it, regenerate the set from the repo root
# (Herald is desktop-only, so the Android and iOS sets that `tauri icon` also writes are dropped):
#   sh icons/make-source.sh && ui/node_modules/.bin/tauri icon icons/source.png -o icons \
#     && rm -rf icons/android icons/ios
set -eu
cd "$(dirname "$0")"
out=${1:-source.png}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

S=1024
# The tile: a calm diagonal indigo gradient with a soft light at the top, so it reads as a
# surface rather than a flat swatch. It is cut to a rounded square at the end.
convert -size "${S}x${S}" -define gradient:angle=135 gradient:'#4c6ef5-#1f2d74' "$tmp/grad.png"
convert -size "${S}x${S}" xc:none -fill 'rgba(255,255,255,0.12)' \
    -draw "ellipse 512,80 600,320 0,360" -blur 0x70 "$tmp/sheen.png"

# The glyph: a sealed invitation. Shadow first, then the envelope, its flap and a gold seal.
convert -size "${S}x${S}" xc:none -fill 'rgba(8,14,48,0.45)' \
    -draw "roundrectangle 236,372 788,768 48,48" -blur 0x28 "$tmp/shadow.png"
convert -size "${S}x${S}" xc:none \
    -fill '#f7f8ff' -draw "roundrectangle 236,336 788,732 48,48" \
    -fill none -stroke '#a9b7ec' -strokewidth 30 \
    -draw "stroke-linecap round stroke-linejoin round polyline 290,388 512,560 734,388" \
    -stroke none -fill 'rgba(120,70,0,0.25)' -draw "circle 512,572 512,656" \
    -fill '#f5b83d' -draw "circle 512,560 512,644" \
    -fill none -stroke '#fcd77f' -strokewidth 8 -draw "circle 512,560 512,622" \
    -stroke none -fill '#fff6df' \
    -draw "polygon 512,518 522,546 552,547 528,565 537,594 512,577 487,594 496,565 472,547 502,546" \
    "$tmp/glyph.png"

# The rounded square; a 64 px margin keeps the shape off the edges in docks and task bars that
# draw icons at full size.
convert -size "${S}x${S}" xc:black -fill white \
    -draw "roundrectangle 64,64 959,959 208,208" "$tmp/mask.png"

convert "$tmp/grad.png" "$tmp/sheen.png" -compose Over -composite \
    "$tmp/shadow.png" -compose Over -composite \
    "$tmp/glyph.png" -compose Over -composite \
    "$tmp/mask.png" -alpha off -compose CopyOpacity -composite \
    -strip -depth 8 -define png:color-type=6 "$out"
echo "wrote icons/$out"
