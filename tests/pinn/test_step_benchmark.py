"""benchmarks/pinn_step_benchmark.py times what it claims: its straightforward step computes
eofpinn's loss terms and gradients, and its candidate jets are eofpinn's jets."""

import torch

from benchmarks.pinn_step_benchmark import (fused_raw_jets, legacy_raw_jets, obvious_terms, paper_trainer,
                                            settings_for)
from eofpinn.solvers.pinn.conflict import per_term_gradients

SMALL = {"dtype": "float64", "network.width": 16, "network.depth": 2, "points.n_interior": 120,
         "points.n_boundary": 30, "network.output_gain": 1.0}


def test_straightforward_terms_and_gradients_are_eofpinns():
    trainer = paper_trainer(settings_for("quick", "cpu", 1000, SMALL))
    ours, theirs = obvious_terms(trainer), trainer.task.loss_terms(trainer.model, trainer.points)
    assert list(ours) == list(trainer.term_names)
    for name in ours:
        torch.testing.assert_close(ours[name], theirs[name], rtol=1e-12, atol=0.0)
    for a, b in zip(per_term_gradients(list(ours.values()), trainer.params),
                    per_term_gradients(list(theirs.values()), trainer.params)):
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-12)


def test_candidate_jets_are_eofpinns():
    trainer = paper_trainer(settings_for("quick", "cpu", 1000, SMALL))
    networks, points = trainer.model.networks, trainer.points.stacked()[0]
    reference = networks.raw_jets(points)
    for candidate in (legacy_raw_jets, fused_raw_jets):
        jets = candidate(networks, points)
        for name in reference:
            torch.testing.assert_close(jets[name], reference[name], rtol=1e-12, atol=1e-13)
