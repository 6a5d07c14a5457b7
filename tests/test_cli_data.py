"""`riskrl data validate` and bad input everywhere: exit code 2, one line on stderr naming the file."""
import gzip
from pathlib import Path
import numpy as np
import pandas as pd
import pytest
from conftest import run_cli
from riskrl_nb.core.config import bundled_path, bundled_symbols
from riskrl_nb.data.candles import load_bundled, write_candles


def test_validate_every_bundled_file():
    paths = [bundled_path(s, i) for s in bundled_symbols() for i in ('1h', '1d')]
    r = run_cli('data', 'validate', *paths)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count('\nOK') + r.stdout.startswith('OK') == 20
    assert 'BTC 1h 29894 bars' in r.stdout


GOOD = load_bundled('ETH', '1h').iloc[:400]

CORRUPTIONS = {
    'missing_column': (lambda d: d.drop(columns='volume'), "column 'volume' missing"),
    'unsorted': (lambda d: d.iloc[np.r_[0:100, 200:300, 100:200, 300:400]], 'timestamps not ascending'),
    'duplicates': (lambda d: pd.concat([d.iloc[:50], d.iloc[49:]]), 'duplicate timestamp'),
    'nan': (lambda d: d.assign(open=d.open.where(d.index != d.index[17])), "missing value (NaN) in 'open'"),
    'high_below_low': (lambda d: d.assign(low=d.low.where(d.index != d.index[33], d.high.iloc[33] + 5)), 'high < low'),
    'negative_volume': (lambda d: d.assign(volume=d.volume.where(d.index != d.index[3], -2.0)), 'negative volume'),
    'zero_price': (lambda d: d.assign(close=d.close.where(d.index != d.index[8], 0.0), low=d.low.where(d.index != d.index[8], 0.0)), 'non-positive'),
}


@pytest.mark.parametrize('name', CORRUPTIONS)
def test_validate_rejects_corruption(tmp_path, name):
    corrupt, expected = CORRUPTIONS[name]
    p = write_candles(corrupt(GOOD), tmp_path/f'{name}.csv.gz')
    r = run_cli('data', 'validate', p)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert str(p) in lines[0] and expected in lines[0], lines[0]
    assert 'Traceback' not in r.stderr


@pytest.mark.parametrize('content,expected', [
    (b'', 'empty file'),
    (b'timestamp,open,high,low,close,volume\n', 'no rows'),
    (b'\x1f\x8b\x08\x00garbage', 'corrupt gzip'),
    (b'timestamp,open,high,low,close,volume\n2023-01-01T00:00:00Z,1,2,0.5,abc,3\n', "close value 'abc' is not a number"),
    (b'timestamp,open,high,low,close,volume\nnot-a-time,1,2,0.5,1,3\n', 'is not an ISO-8601 time'),
])
def test_validate_rejects_unreadable(tmp_path, content, expected):
    p = tmp_path/'bad.csv'
    p.write_bytes(content)
    r = run_cli('data', 'validate', p)
    assert r.returncode == 2 and expected in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_validate_mixed_reports_each_file(tmp_path):
    good = write_candles(GOOD, tmp_path/'good.csv')
    missing = tmp_path/'missing.csv'
    r = run_cli('data', 'validate', good, missing)
    assert r.returncode == 2
    assert 'OK' in r.stdout and 'good.csv' in r.stdout
    assert f'{missing}: file not found' in r.stderr


def test_plain_and_gzip_files_load_identically(tmp_path):
    a = write_candles(GOOD, tmp_path/'a.csv')
    b = write_candles(GOOD, tmp_path/'b.csv.gz')
    from riskrl_nb.data.candles import load_candles
    pd.testing.assert_frame_equal(load_candles(a), load_candles(b))
    assert load_candles(b).attrs['interval'] == '1h'
