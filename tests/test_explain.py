"""Explanations of the agent's decisions (issue 18): SHAP additivity, a blind input gets nothing, counterfactuals that
really flip the decision and are the smallest in their grid, tree fidelity on held-out bars only, POST /v1/explain."""
import io
import numpy as np
import pytest
from fastapi.testclient import TestClient

KEY = 'explain-key-0123456789abcdef'
H = {'X-API-Key': KEY}


@pytest.fixture(scope='module')
def explained(tiny_model):
    "The tiny model, its classifier and its decisions in 2022 H1 (fit) and 2023 (held out)."
    from riskrl_nb.agents.bundle import load_bundle
    from riskrl_nb.eval.explain import record_decisions, policy_classifier
    bundle = load_bundle(tiny_model)
    fit = record_decisions(bundle, '2022-01-01', '2022-06-30')
    held = record_decisions(bundle, '2023-01-01', '2023-12-31')
    return bundle, policy_classifier(bundle), fit, held


def _blind(bundle, j):
    "A classifier of the same policy with input `j` cut from the actor's first layer: the policy cannot see it."
    import copy, torch
    from riskrl_nb.eval.explain import PolicyClassifier, sb3_probabilities
    model = copy.deepcopy(bundle.model)
    first = next(m for m in model.policy.mlp_extractor.policy_net if isinstance(m, torch.nn.Linear))
    with torch.no_grad(): first.weight[:, j] = 0.0
    return PolicyClassifier(sb3_probabilities(model, bundle.masked), len(bundle.scaler.columns)).fit()


def test_classifier_decides_as_the_backtest(explained):
    _, clf, _, held = explained
    assert len(held) > 20
    assert (clf.predict(held.obs) == held.actions).all() and (clf.masks(held.obs) == held.masks).all()


def test_shap_values_sum_to_probability_minus_expected(explained):
    from riskrl_nb.eval.explain import shap_values, background_sample
    from riskrl_nb.sim.env import ACTIONS
    _, clf, fit, held = explained
    bg = background_sample(fit, 30)
    for k in (0, len(held) // 2):
        sv = shap_values(clf, held.obs[k], bg, held.names)
        p = clf.predict_proba(held.obs[k][None])[0]
        expected = clf.predict_proba(bg).mean(axis=0)        # computed here, not taken from the explainer
        exact = shap_values(clf, held.obs[k], bg, held.names, method='permutation')
        for a, name in enumerate(ACTIONS):
            assert abs(sv[name].sum() - (p[a] - expected[a])) < 1e-6, (name, sv[name].sum(), p[a] - expected[a])
            assert abs(exact[name].sum() - (p[a] - expected[a])) < 1e-6
        assert sv.abs().to_numpy().max() > 1e-4             # something moved the probabilities


def test_an_input_the_policy_cannot_see_gets_no_importance(explained):
    from riskrl_nb.eval.explain import shap_values, background_sample, decision_importance, counterfactual, GRID
    bundle, clf, fit, held = explained
    j = held.names.index('rsi_14')
    blind = _blind(bundle, j)
    imp_blind = decision_importance(blind, held, repeats=2)
    assert imp_blind.loc['rsi_14', 'decisions_changed'] == 0.0
    assert imp_blind.decisions_changed.max() > 0
    bg = background_sample(fit, 30)
    exact = shap_values(blind, held.obs[0], bg, held.names, method='permutation')
    assert np.abs(exact.loc['rsi_14']).max() == 0.0 and np.abs(exact.to_numpy()).max() > 1e-4   # exactly nothing
    kernel = shap_values(blind, held.obs[0], bg, held.names)       # a sampling estimate: near zero
    assert np.abs(kernel.loc['rsi_14']).max() < 0.05 * np.abs(kernel.to_numpy()).max(), kernel.loc['rsi_14']
    cf = counterfactual(blind, held.obs[0], held.names, inputs=['rsi_14'], pair_inputs=0)
    assert not cf['flipped'] and cf['changes'] == {}


def test_counterfactual_flips_and_no_smaller_single_change_does(explained):
    from riskrl_nb.eval.explain import counterfactual, GRID
    from riskrl_nb.sim.env import ACTIONS
    _, clf, _, held = explained
    tried = 0
    for k in list(np.flatnonzero(held.actions != 0)[:2]) + [0]:
        x, base = held.obs[k], held.actions[k]
        cf = counterfactual(clf, x, held.names)
        assert cf['action'] == ACTIONS[base]
        if not cf['flipped']: continue
        tried += 1
        y = x.copy()
        for name, d in cf['changes'].items(): y[held.names.index(name)] += d
        assert ACTIONS[clf.predict(y[None])[0]] == cf['new_action'] != cf['action']       # it flips
        assert held.masks[k][ACTIONS.index(cf['new_action'])]                            # to an allowed action
        assert abs(np.linalg.norm(list(cf['changes'].values())) - cf['distance']) < 1e-9
        for j in range(clf.n_market):                                                   # no smaller single change flips
            for d in GRID:
                if d >= cf['distance'] - 1e-9: break
                for s in (-d, d):
                    z = x.copy(); z[j] = np.clip(z[j] + s, -10, 10)
                    assert clf.predict(z[None])[0] == base, (held.names[j], s)
    assert tried >= 1


def test_tree_fidelity_is_measured_on_held_out_bars_only(explained):
    from riskrl_nb.core.config import RiskrlError
    from riskrl_nb.eval.explain import distill_tree, Decisions, tree_actions
    _, _, fit, held = explained
    tree, facts = distill_tree(fit, held)
    pred = tree_actions(tree, held.obs, held.masks)
    assert held.masks[np.arange(len(pred)), pred].all()                      # the tree acts within the mask
    assert facts['held_out']['decisions'] == len(held) and facts['fit']['decisions'] == len(fit)
    assert facts['fidelity'] == pytest.approx(float(np.mean(pred == held.actions)))
    assert facts['fidelity_unmasked'] == pytest.approx(float(np.mean(tree.predict(held.obs) == held.actions)))
    assert facts['fit_agreement'] == pytest.approx(float(np.mean(tree_actions(tree, fit.obs, fit.masks) == fit.actions)))
    assert facts['fit']['last'] < facts['held_out']['first']
    # held-out decisions that overlap the fitted bars are refused
    with pytest.raises(RiskrlError, match='not after'): distill_tree(held, fit)
    both = Decisions(np.r_[fit.obs, held.obs], np.r_[fit.masks, held.masks], np.r_[fit.actions, held.actions],
                     np.r_[fit.bars, held.bars], fit.times.append(held.times), fit.names, fit.file)
    with pytest.raises(RiskrlError, match='not after'): distill_tree(fit, both)


def _app(model_dir, audit_path):
    from riskrl_nb.serve.audit import AuditLog
    from riskrl_nb.serve.schema import ServingModel
    from riskrl_nb.serve.engine import DecisionService
    from riskrl_nb.serve.limits import load_limits
    from riskrl_nb.serve.http import create_app, json_logger
    svc = DecisionService(ServingModel(model_dir), AuditLog(audit_path), load_limits(overrides=dict(max_bar_age_bars=None)))
    return svc, create_app(svc, [KEY], logger=json_logger(stream=io.StringIO()))


def _body(svc):
    import pandas as pd
    from riskrl_nb.data.candles import load_bundled
    from riskrl_nb.serve.schema import bars_payload
    btc = load_bundled('BTC', '1h')
    end = btc.index.get_loc(pd.Timestamp('2023-06-30T12:00:00Z'))
    w = btc.iloc[end - svc.champion.bars_recommended + 1:end + 1]
    return dict(position=dict(position_id='x-1', symbol='BTC', side='long', quantity=0.3, entry_price=float(w.open.iloc[-10]),
                              entry_time=w.index[-10].isoformat()), bars=bars_payload(w), request_id='why-1')


def test_explain_route_422_names_the_field_and_audits(exported_model, tmp_path):
    from riskrl_nb.serve.audit import AuditLog
    svc, app = _app(exported_model, tmp_path/'a.db')
    c, body = TestClient(app), _body(svc)
    assert c.post('/v1/explain', json=body).status_code == 401
    for bad, field in ((dict(methods=['lime']), 'methods.0'), (dict(nsamples=5), 'nsamples'), (dict(methods=[]), 'methods'),
                       (dict(top=0), 'top')):
        r = c.post('/v1/explain', json=dict(body, **bad), headers=H)
        assert r.status_code == 422 and r.json()['detail'][0]['field'] == field, r.json()
    r = c.post('/v1/explain', json=dict(body, bars={k: v[-5:] for k, v in body['bars'].items()}), headers=H)
    assert r.status_code == 422 and r.json()['detail'][0]['field'] == 'bars'
    r = c.post('/v1/explain', json=dict(body, top=4), headers=H)
    assert r.status_code == 200, r.text
    e = r.json()
    d = c.post('/v1/decide', json=body, headers=H).json()
    assert e['decision'] == d['action'] and e['probabilities'] == d['probabilities']
    assert len(e['shap']['values']) == 4 and e['counterfactual']['action'] == e['decision']
    recs = list(AuditLog(tmp_path/'a.db').records(kind='explanation'))    # another connection: durable
    assert [x.seq for x in recs] == [e['explanation_id']] and recs[0].hash == e['audit_hash']
    assert recs[0].data['request_id'] == 'why-1' and recs[0].data['counterfactual'] == e['counterfactual']
    assert [x.data['detail'][0]['field'] for x in AuditLog(tmp_path/'a.db').records(kind='rejected') if x.data['status'] == 422][:2] == ['methods.0', 'nsamples']
    spec = c.get('/openapi.json').json()
    assert 'ExplainRequest' in spec['components']['schemas'] and '/v1/explain' in spec['paths']
