"""The Vercel function regions `functionRegions` may name, pinned here; refreshed by a command.

The provider validates every entry of `resource_config.function_default_regions` against the regions
that Vercel's region service lists with the `V2_DEPLOYMENT_CREATE` capability
(terraform-provider-vercel vercel/validator_serverless_function_region.go@c8a6711: `http.Get
("https://dcs.vercel-infra.com")`, then `contains(regionInfo.Caps, "V2_DEPLOYMENT_CREATE")`), so
`pulumi preview` refuses any other id; offline that service cannot be asked, so its answer is pinned.

Refresh (needs network; rewrites the tuple below and the date, review the diff):

    python -m infra.regions --refresh

Source of the pinned list, as of PINNED_ON: Vercel's region list (https://vercel.com/docs/regions,
"Region list", page last updated 2026-08-11: 20 compute regions, dxb1 and yul1 the newest), the same
20 ids the provider pins for blob stores (vercel/blob_shared.go@c8a6711 `blobRegions`).
"""

from __future__ import annotations

import argparse
import datetime
import json
import re
import sys
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SOURCE_URL = "https://dcs.vercel-infra.com"
CAPABILITY = "V2_DEPLOYMENT_CREATE"
PINNED_ON = "2026-12-06"
FUNCTION_REGIONS: tuple[str, ...] = (
    "arn1", "bom1", "cdg1", "cle1", "cpt1", "dub1", "dxb1", "fra1", "gru1", "hkg1",
    "hnd1", "iad1", "icn1", "kix1", "lhr1", "pdx1", "sfo1", "sin1", "syd1", "yul1",
)


def regions_from_service(answer: Mapping[str, Any]) -> tuple[str, ...]:
    """The ids the provider accepts from one answer of the region service: {id: {"caps": [...]}}."""
    if not isinstance(answer, Mapping):
        raise ValueError("the region service did not answer a JSON object")
    found = sorted(region for region, info in answer.items()
                   if isinstance(info, Mapping) and CAPABILITY in (info.get("caps") or []))
    if not found or not all(re.fullmatch(r"[a-z]{3}[0-9]", r) for r in found):
        raise ValueError(f"unexpected region ids from the region service: {found[:5]}")
    return tuple(found)


def rewrite(source: str, regions: tuple[str, ...], today: str) -> str:
    """This module's text with `regions` and `today` pinned."""
    rows = [", ".join(f'"{r}"' for r in regions[i:i + 10]) for i in range(0, len(regions), 10)]
    body = "".join(f"    {row},\n" for row in rows)
    text = re.sub(r"FUNCTION_REGIONS: tuple\[str, \.\.\.\] = \(\n.*?\n\)",
                  lambda _: f"FUNCTION_REGIONS: tuple[str, ...] = (\n{body})", source, count=1, flags=re.S)
    return re.sub(r'PINNED_ON = "[0-9-]+"', f'PINNED_ON = "{today}"', text, count=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.regions", description=__doc__.splitlines()[0])
    parser.add_argument("--refresh", action="store_true", help=f"fetch {SOURCE_URL} and rewrite the pinned list")
    args = parser.parse_args(argv)
    if not args.refresh:
        print(f"{len(FUNCTION_REGIONS)} regions pinned on {PINNED_ON}: {' '.join(FUNCTION_REGIONS)}")
        return 0
    try:
        with urllib.request.urlopen(SOURCE_URL, timeout=30) as response:  # a fixed https URL
            regions = regions_from_service(json.load(response))
    except (OSError, ValueError) as exc:
        print(f"error: cannot refresh from {SOURCE_URL}: {exc}", file=sys.stderr)
        return 1
    path = Path(__file__)
    path.write_text(rewrite(path.read_text(), regions, datetime.date.today().isoformat()))
    added, removed = set(regions) - set(FUNCTION_REGIONS), set(FUNCTION_REGIONS) - set(regions)
    print(f"{len(regions)} regions pinned; added: {' '.join(sorted(added)) or 'none'}; "
          f"removed: {' '.join(sorted(removed)) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
