"""The sharded-job engine (diffdet_plugin.utils.sharded_job) on its own; synthesis and P.A.
attribute extraction run on it (their kill / resume / rank tests pin it end to end)."""
import json
import os.path as osp

import pytest
from diffdet_plugin.utils.sharded_job import (ShardedJob, UnitFiles, UnitLog, check_complete,
                                              read_unit_files)


def test_units_split_over_ranks_and_every_rank_reads_all_records(tmp_path):
    root = str(tmp_path / 'shards')
    jobs = [ShardedJob(UnitFiles(root, r), r, 3) for r in range(3)]
    units = list(range(8))
    shares = [job.mine(units) for job in jobs]
    assert shares == [[0, 3, 6], [1, 4, 7], [2, 5]]
    for job, share in zip(jobs, shares):
        for k in share:
            job.store.commit(k, dict(value=k * k))
    records = read_unit_files(root)
    assert sorted(records) == units and records[7] == dict(value=49, batch=7, rank=1)
    assert jobs[0].finish(lambda recs: sorted(recs)) == units  # one process: no barrier wait
    with pytest.raises(ValueError, match='outside world_size'):
        ShardedJob(UnitFiles(root, 0), 3, 3)


def test_identity_refuses_other_settings_and_fixed_keys_even_on_resume(tmp_path):
    store = UnitFiles(str(tmp_path / 'shards'), 0, identity_file=str(tmp_path / 'run.json'))
    job = ShardedJob(store, 0, 1)
    ident = dict(model='a', steps=30)
    assert job.check_identity(ident, 'DIR', 'Use another --out', fixed=('model', ),
                              fixed_name='model') == []
    store.write_identity(ident)
    assert job.check_identity(ident, 'DIR', 'Use another --out', fixed=('model', )) == []
    with pytest.raises(RuntimeError, match=r"other settings \(\['steps'\]\).*--resume"):
        job.check_identity(dict(ident, steps=50), 'DIR', 'Use another --out',
                           fixed=('model', ), resume_hint='--resume')
    assert job.check_identity(dict(ident, steps=50), 'DIR', 'x', fixed=('model', ),
                              resume=True) == ['steps']
    with pytest.raises(RuntimeError, match=r"another model \(\['model'\]\)"):
        job.check_identity(dict(ident, model='b'), 'DIR', 'x', fixed=('model', ),
                           fixed_name='model', resume=True)
    with pytest.raises(RuntimeError, match='other settings'):  # fixed=None: every key
        job.check_identity(dict(ident, steps=50), 'DIR', 'x', resume=True)


def test_a_rank_log_drops_a_torn_last_line_and_merges_complete(tmp_path):
    out = str(tmp_path / 'result.json')
    logs = [UnitLog(out, r, key='image_id') for r in range(2)]
    for r, log in enumerate(logs):
        log.write_identity(dict(rank=r))
        log.commit_many([dict(image_id=i, v=i) for i in range(r, 6, 2)])
    with open(logs[1].log, 'a') as f:
        f.write('{"image_id": 9, "v"')  # a write killed midway
    assert UnitLog.read(logs[1].log) == (dict(rank=1), [dict(image_id=i, v=i) for i in (1, 3, 5)])
    records = logs[0].records()
    assert sorted(records) == list(range(6))
    check_complete(records, range(6), 'the logs')
    with pytest.raises(RuntimeError, match='1 units have no record in the logs'):
        check_complete(records, range(7), 'the logs')
    logs[0].remove()
    assert not osp.exists(logs[0].log) and not osp.exists(logs[1].log)
    assert json.dumps(records[5]) == '{"image_id": 5, "v": 5}'


def test_benchmark_lanes_split_the_detector_runs_like_ranks(tmp_path):
    """`benchmark.py quality --lane I N`: run k (in arm, seed order) is trained by lane
    k % N; a lane reads the other lanes' finished records and skips their missing ones."""
    from diffdet_plugin.benchmarks.experiment import detector_runs, record
    work = str(tmp_path)
    for arm, seed in (('a', 0), ('a', 1), ('b', 1)):
        record(osp.join(work, 'runs', f'{arm}-seed{seed}.json'),
               dict(arm=arm, seed=seed, test={'coco/bbox_mAP': 0.5}))
    asked = []

    def configure(arm):
        asked.append(arm)
        raise KeyboardInterrupt  # a run would start here

    runs = detector_runs(work, 'p', ['a', 'b'], [0, 1], 10, configure, lane=(1, 2))
    assert {a: [r['seed'] for r in recs] for a, recs in runs.items()} == {'a': [0, 1], 'b': [1]}
    assert not asked  # lane 1 owns (a, 1) and (b, 1): both recorded, nothing to train
    with pytest.raises(KeyboardInterrupt):
        detector_runs(work, 'p', ['a', 'b'], [0, 1], 10, configure, lane=(0, 2))
    assert asked == ['b']  # lane 0 owns (a, 0), recorded, and (b, 0), not yet


def test_claimed_runs_go_to_whichever_process_holds_them(tmp_path):
    """`benchmark.py quality --claim`: a run held by another process (its lock file) is
    skipped like another lane's; a free one is trained here; a released claim is free again."""
    from diffdet_plugin.benchmarks.experiment import detector_runs, record
    from diffdet_plugin.utils.sharded_job import claimed
    work = str(tmp_path)
    record(osp.join(work, 'runs', 'a-seed0.json'), dict(arm='a', seed=0, test={}))
    asked = []

    def configure(arm):
        asked.append(arm)
        raise KeyboardInterrupt  # a run would start here

    lock = osp.join(work, 'runs', 'a-seed1.lock')
    with claimed(lock) as held:  # another process (an own open file: flock conflicts)
        assert held
        with claimed(lock) as again:
            assert not again
        runs = detector_runs(work, 'p', ['a'], [0, 1], 10, configure, claim=True)
        assert [r['seed'] for r in runs['a']] == [0] and not asked
    with pytest.raises(KeyboardInterrupt):  # released: this process claims and trains it
        detector_runs(work, 'p', ['a'], [0, 1], 10, configure, claim=True)
    assert asked == ['a']
    with claimed(lock) as held:  # the failed run's claim was let go
        assert held
