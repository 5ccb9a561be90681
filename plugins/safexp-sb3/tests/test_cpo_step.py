"""The CPO step of every case on hand-computed (g, b, H, c, δ), against constrained-rl.md §5.

H = diag(2, 1), δ = 0.01 (2δ = 0.02), b = (0, 1) so w = H⁻¹b = (0, 1) and s = 1. The expected figures are
worked out by hand in each test; the geometric checks (trust-region boundary ½xᵀHx = δ, active linearised
constraint c − bᵀx = 0) hold for the exact solution whatever the formulas look like.
"""

import math

import pytest
import torch as th

from safexp_sb3.cpo import EPS, conjugate_gradient, cpo_step

H = th.tensor([[2.0, 0.0], [0.0, 1.0]], dtype=th.float64)
DELTA = 0.01
B = th.tensor([0.0, 1.0], dtype=th.float64)


def hvp(v: th.Tensor) -> th.Tensor:
    return H @ v


def kl_quadratic(x: th.Tensor) -> float:
    return 0.5 * float(x @ H @ x)


def test_conjugate_gradient_solves_exactly_in_n_iterations():
    rhs = th.tensor([1.0, -3.0], dtype=th.float64)
    assert th.allclose(conjugate_gradient(hvp, rhs, iterations=2), th.linalg.solve(H, rhs))


def test_case_4_no_cost_gradient_is_the_trpo_step():
    g = th.tensor([1.0, 0.0], dtype=th.float64)  # q = gᵀH⁻¹g = 0.5, λ* = √(0.5/0.02) = 5
    step = cpo_step(g, th.zeros(2, dtype=th.float64), hvp, c=-0.1, delta=DELTA)
    assert step.case == 4
    assert step.q == pytest.approx(0.5)
    assert step.lambda_star == pytest.approx(5.0) and step.nu_star == 0.0
    assert th.allclose(step.step, th.tensor([0.1, 0.0], dtype=th.float64), atol=1e-9)  # H⁻¹g/λ* = (0.5, 0)/5
    assert kl_quadratic(step.step) == pytest.approx(DELTA, rel=1e-6)
    assert all(math.isnan(v) for v in (step.A, step.B, step.r, step.s))


def test_case_3_whole_trust_region_feasible_ignores_the_constraint():
    g = th.tensor([1.0, 0.0], dtype=th.float64)  # r = gᵀH⁻¹b = 0; c = −0.2: B = 0.02 − 0.04 = −0.02 < 0
    step = cpo_step(g, B, hvp, c=-0.2, delta=DELTA)
    assert step.case == 3
    assert (step.q, step.r, step.s) == pytest.approx((0.5, 0.0, 1.0))
    assert step.B == pytest.approx(-0.02, rel=1e-6)
    assert step.lambda_star == pytest.approx(5.0) and step.nu_star == 0.0
    assert th.allclose(step.step, th.tensor([0.1, 0.0], dtype=th.float64), atol=1e-9)


def test_case_2_feasible_with_the_boundary_cutting_the_trust_region():
    # g = (1, −1): v = (0.5, −1), q = 1.5, r = −1, s = 1, A = 0.5; c = −0.1: B = 0.01, r/c = 10
    # L_A = [0, 10], L_B = [10, ∞): λ_a = √(A/B) = √50, λ_b = proj(√75, L_B) = 10
    # f_a(√50) = −√50/100·... = −0.0707 − 0.1 = −0.1707 ≥ f_b(10) = −0.175  →  λ* = √50
    # ν* = (λ*c − r)/s = 1 − √50/10
    g = th.tensor([1.0, -1.0], dtype=th.float64)
    step = cpo_step(g, B, hvp, c=-0.1, delta=DELTA)
    lam = math.sqrt(50.0)
    assert step.case == 2
    assert (step.q, step.r, step.s, step.A, step.B) == pytest.approx((1.5, -1.0, 1.0, 0.5, 0.01), rel=1e-6)
    assert step.lambda_star == pytest.approx(lam, rel=1e-6)
    assert step.nu_star == pytest.approx(1.0 - lam / 10.0, rel=1e-5)
    expected = (th.tensor([0.5, -1.0], dtype=th.float64) + step.nu_star * B) / lam
    assert th.allclose(step.step, expected, atol=1e-8)
    assert kl_quadratic(step.step) == pytest.approx(DELTA, rel=1e-5)  # on the trust-region boundary
    assert -0.1 - float(B @ step.step) == pytest.approx(0.0, abs=1e-7)  # on the constraint boundary


def test_case_2_with_the_constraint_inactive_takes_the_trpo_step():
    g = th.tensor([1.0, 1.0], dtype=th.float64)  # r = 1, r/c = −10: the TRPO step already lowers the cost
    step = cpo_step(g, B, hvp, c=-0.1, delta=DELTA)
    assert step.case == 2
    assert step.lambda_star == pytest.approx(math.sqrt(1.5 / 0.02)) and step.nu_star == 0.0
    assert th.allclose(step.step, th.tensor([0.5, 1.0], dtype=th.float64) / math.sqrt(75.0), atol=1e-8)


def test_case_1_feasible_recovery_lands_on_the_constraint_boundary():
    # c = 0.1: B = 0.01, r/c = −10, L_A = [−10, ∞), L_B = [0, −10] (empty: λ_b = 0, f_b = −∞)
    # λ* = λ_a = √50, ν* = (λ*c − r)/s = √50/10 + 1
    g = th.tensor([1.0, -1.0], dtype=th.float64)
    step = cpo_step(g, B, hvp, c=0.1, delta=DELTA)
    lam = math.sqrt(50.0)
    assert step.case == 1
    assert step.lambda_star == pytest.approx(lam, rel=1e-6)
    assert step.nu_star == pytest.approx(lam / 10.0 + 1.0, rel=1e-6)
    assert th.allclose(step.step, th.tensor([0.5 / lam, 0.1], dtype=th.float64), atol=1e-8)
    assert kl_quadratic(step.step) == pytest.approx(DELTA, rel=1e-5)
    assert 0.1 - float(B @ step.step) == pytest.approx(0.0, abs=1e-7)  # θ − x reaches c + bᵀ(θ_new − θ) = 0


def test_case_0_infeasible_recovery_only_lowers_the_cost():
    g = th.tensor([1.0, -1.0], dtype=th.float64)  # c = 0.2: B = 0.02 − 0.04 < 0
    step = cpo_step(g, B, hvp, c=0.2, delta=DELTA)
    assert step.case == 0
    assert step.lambda_star == 0.0
    assert step.nu_star == pytest.approx(math.sqrt(0.02), rel=1e-6)
    assert th.allclose(step.step, th.tensor([0.0, math.sqrt(0.02)], dtype=th.float64), atol=1e-8)  # ν*·H⁻¹b
    assert kl_quadratic(step.step) == pytest.approx(DELTA, rel=1e-5)
    assert float(B @ step.step) > 0  # θ − x lowers the linearised cost


def test_sign_convention_of_r_matters():
    """A port that flips the sign of r would put case 2's step off the constraint boundary: guard it."""
    g = th.tensor([1.0, -1.0], dtype=th.float64)
    step = cpo_step(g, B, hvp, c=-0.1, delta=DELTA)
    assert step.r == pytest.approx(float(g @ th.linalg.solve(H, B)))
    assert step.r < 0 < step.nu_star
    assert EPS < 1e-6
