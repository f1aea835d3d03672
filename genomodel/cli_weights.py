"""``genomodel import-weights``: a basenji / baskerville Keras 2 HDF5 file into a model folder of this suite."""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

logger = logging.getLogger("genomodel.cli")


def import_weights(args) -> int:
    from genocore import provenance
    from genomodel.config import params_from_dict
    from genomodel.model.import_weights import gelu_form_of_h5, import_keras2_h5, with_gelu
    from genomodel.model.seqnn import build_model, save_model

    doc = json.loads(Path(args.params).read_text())
    in_file = gelu_form_of_h5(args.h5)
    if args.gelu and in_file and args.gelu != in_file:
        raise ValueError(f"{args.h5} was built with the {in_file} form of GELU, not --gelu {args.gelu}")
    gelu = args.gelu or in_file
    if with_gelu(doc, "tanh") != doc:  # the params name 'gelu' somewhere
        if gelu is None:
            raise ValueError(f"{args.params} uses 'gelu' and {args.h5} does not say which form; give --gelu "
                             "sigmoid (basenji before April 2022, e.g. the published Basenji2 models) or --gelu tanh "
                             "(baskerville, and basenji since April 2022)")
        doc = with_gelu(doc, gelu)
    params = params_from_dict(doc, where=str(args.params))
    seqnn = build_model(params.model, seed=0)
    n = import_keras2_h5(seqnn, args.h5, genome=args.genome, trunk_only=args.trunk_only)
    info = provenance.record(command=sys.argv, inputs={"weights": args.h5, "params": args.params},
                             extra={"imported_layers": n, "trunk_only": args.trunk_only, "gelu": gelu})
    save_model(seqnn, params, args.out, extra=info)
    logger.info("imported %d weighted layers%s from %s into %s", n, " (trunk only)" if args.trunk_only else "",
                args.h5, args.out)
    return 0


def add_parser(sub) -> None:
    p = sub.add_parser("import-weights", help="import a basenji / baskerville Keras 2 .h5 model",
                       description="Rebuild the network from its params and load the weights of a basenji or "
                       "baskerville HDF5 file (e.g. the published Basenji2 model_human.h5), layer by layer, each "
                       "checked by shape; writes a model folder that every genomodel command reads.")
    p.set_defaults(runner=import_weights)
    p.add_argument("--params", required=True, type=Path, help="the params JSON the weights were trained with")
    p.add_argument("--h5", required=True, type=Path, help="the Keras 2 HDF5 model or weights file")
    p.add_argument("--out", required=True, type=Path, help="model folder to write")
    p.add_argument("--gelu", choices=("sigmoid", "tanh"), help="the GELU form the weights were trained with "
                   "(default: read from the file's saved model config)")
    p.add_argument("--genome", help="the head to fill, when the params have several")
    p.add_argument("--trunk-only", action="store_true", help="import the trunk only; the params' heads start new")
