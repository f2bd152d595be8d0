"""One resumable, distributed sharded job: plan → this rank's units → atomic shards → merge.

Every long job of the plugin that can be killed and continued, or split over ranks, runs the
same way (synthesis, :mod:`diffdet_plugin.synthesis.base`; P.A. attribute extraction,
:mod:`diffdet_plugin.attributes.perception_attributes`; the benchmark records keep their
identity the same way, :func:`diffdet_plugin.benchmarks.experiment.ldm_work_dir`):

1. **plan**: the job's units, numbered 0, 1, ... and deterministic in its settings (synthesis:
   batches of items; attribute extraction: images in id order);
2. **rank partition**: unit k runs on rank k % world_size (:meth:`ShardedJob.mine`);
3. **atomic shards**: a finished unit's record is committed so that a kill at any moment
   leaves it whole or absent (:class:`UnitFiles`: one JSON file per unit, renamed into place;
   :class:`UnitLog`: one append-only JSON-lines log per rank, fsynced, a torn last line
   dropped). A unit without a record is redone, so a killed job restarted with the same command
   ends with what an uninterrupted one makes;
4. **identity**: the settings that made the records (:meth:`ShardedJob.check_identity`): a
   continuation with other settings is refused with one clear error, unless the caller allows
   it (``resume``) and the difference avoids the ``fixed`` keys (models, class list ...);
5. **merge**: when every rank is done (a barrier), rank 0 merges every rank's records
   (:meth:`ShardedJob.finish`); the merge checks that every unit has one.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import os.path as osp
import socket
from typing import Callable, Iterable

from .fileio import atomic_write_json


def read_unit_files(root: str, prefix: str = 'batch', key: str = 'batch') -> dict[int, dict]:
    """Every rank's finished units of a :class:`UnitFiles` store at ``root``, by number."""
    out = {}
    for path in glob.glob(osp.join(root, 'rank*', f'{prefix}_*.json')):
        with open(path) as f:
            rec = json.load(f)
        out[int(rec[key])] = rec
    return out


def rank_share(units: Iterable, rank: int, world_size: int,
               number: Callable = lambda u: u) -> list:
    """The units of ``rank``: those whose number k has k % world_size == rank."""
    return [u for u in units if number(u) % world_size == rank]


class UnitFiles:
    """Shards as one JSON file per unit: ``<root>/rank{r}/<prefix>_<k:08d>.json``, each written
    atomically and holding the unit's number (``key``) and rank; the identity in
    ``<root>/../<identity_file>``.

    Args:
        root: the shard folder (e.g. ``DIR/shards``).
        rank: this process's rank.
        prefix: the file name prefix of a unit (``batch``).
        key: the record key holding the unit number (``batch``).
        identity_file: the identity's path.
    """

    def __init__(self, root: str, rank: int, prefix: str = 'batch', key: str = 'batch',
                 identity_file: str | None = None):
        self.root, self.rank, self.prefix, self.key = root, rank, prefix, key
        self.identity_file = identity_file or osp.join(osp.dirname(root), 'job.json')
        self.dir = osp.join(root, f'rank{rank}')
        os.makedirs(self.dir, exist_ok=True)

    def commit(self, unit: int, record: dict):
        atomic_write_json(osp.join(self.dir, f'{self.prefix}_{unit:08d}.json'),
                          dict(record, **{self.key: unit}, rank=self.rank))

    def records(self) -> dict[int, dict]:
        """Every rank's finished units, by number."""
        return read_unit_files(self.root, self.prefix, self.key)

    def identity(self) -> dict | None:
        if not osp.isfile(self.identity_file):
            return None
        with open(self.identity_file) as f:
            return json.load(f)

    def write_identity(self, identity: dict):
        if self.rank == 0:
            atomic_write_json(self.identity_file, identity, indent=2)


class UnitLog:
    """Shards as one append-only JSON-lines log per rank, ``<path>.rank{r}.jsonl``: a header line
    (``{"header": identity}``), then one line per finished unit (its number under ``key``),
    fsynced per commit; a torn last line (a write killed midway) is dropped on reading.

    Args:
        path: the job's output file; the logs sit beside it.
        rank: this process's rank.
        key: the record key holding the unit number (``image_id``).
    """

    def __init__(self, path: str, rank: int, key: str):
        self.path, self.rank, self.key = path, rank, key
        self.log = f'{path}.rank{rank}.jsonl'
        os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)

    @staticmethod
    def read(path: str) -> tuple[dict | None, list[dict]]:
        """(header, unit records) of one log; a torn last line is dropped."""
        header, records = None, []
        with open(path) as f:
            for line in f:
                if not line.endswith('\n'):
                    continue  # the last line of a write that was killed midway
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if 'header' in rec:
                    header = rec['header']
                else:
                    records.append(rec)
        return header, records

    def records(self) -> dict[int, dict]:
        """Every rank's finished units, by number."""
        out = {}
        for path in sorted(glob.glob(f'{glob.escape(self.path)}.rank*.jsonl')):
            for rec in self.read(path)[1]:
                out[rec[self.key]] = rec
        return out

    def identity(self) -> dict | None:
        return self.read(self.log)[0] if osp.isfile(self.log) else None

    def write_identity(self, identity: dict, keep: Iterable[dict] = ()):
        """Start this rank's log with ``identity`` and the ``keep`` records (atomically: this
        also drops a torn last line)."""
        with open(self.log + '.tmp', 'w') as f:
            for line in [dict(header=identity), *keep]:
                f.write(json.dumps(line) + '\n')
        os.replace(self.log + '.tmp', self.log)

    def commit_many(self, records: list[dict]):
        """Append finished units' records (each holding its number under ``key``), fsynced."""
        with open(self.log, 'a') as f:
            for rec in records:
                f.write(json.dumps(rec) + '\n')
            f.flush()
            os.fsync(f.fileno())

    def remove(self):
        """Remove every rank's log (after the merge)."""
        for path in glob.glob(f'{glob.escape(self.path)}.rank*.jsonl'):
            os.remove(path)


class ShardedJob:
    """Steps 2–5 of the module docstring over one shard store.

    Args:
        store: a :class:`UnitFiles` or :class:`UnitLog`.
        rank, world_size: this process's place (default: ``mmengine.dist.get_dist_info()``).
    """

    def __init__(self, store, rank: int | None = None, world_size: int | None = None):
        if rank is None or world_size is None:
            from mmengine.dist import get_dist_info
            rank, world_size = get_dist_info()
        if not 0 <= rank < world_size:
            raise ValueError(f'rank {rank} is outside world_size {world_size}')
        self.store, self.rank, self.world_size = store, rank, world_size

    # ------------------------------------------------------------------ identity
    def check_identity(self, identity: dict, what: str, fix: str, job: str = 'a job',
                       fixed: Iterable[str] | None = None, fixed_name: str = '',
                       resume: bool = False, resume_hint: str = '') -> list[str]:
        """Refuse to continue records made with other settings (one clear error).

        Args:
            identity: the settings (JSON-able) that make this job's records.
            what: names the job's folder or file in the errors; ``job``: what it holds.
            fix: how to start a separate job instead (e.g. ``'Use another --out'``).
            fixed: keys no continuation may change, described as ``fixed_name`` (``None``:
                every key is fixed: any difference is refused).
            resume: continue despite other settings outside ``fixed``.
            resume_hint: how to continue anyway (e.g. ``'--resume'``), for the error.
        Returns:
            the keys that differ from the recorded identity (empty when none is recorded);
            the caller then records ``identity`` (``store.write_identity``).
        Raises:
            RuntimeError: a fixed key differs, or another one does and ``resume`` is False.
        """
        old = self.store.identity()
        diff = [] if old is None else sorted(
            k for k in set(old) | set(identity) if old.get(k) != identity.get(k))
        blocked = sorted(set(diff) & set(fixed)) if fixed is not None else []
        if blocked:
            raise RuntimeError(f'{what} was made with another {fixed_name} ({blocked}); it '
                               f'cannot be continued with this one. {fix}.')
        if diff and (fixed is None or not resume):
            hint = f', or {resume_hint} to continue it with these' if resume_hint else ''
            raise RuntimeError(f'{what} holds {job} with other settings ({diff}). {fix}{hint}.')
        return diff

    # ------------------------------------------------------------------ units
    def mine(self, units: Iterable, number: Callable = lambda u: u) -> list:
        """This rank's share of ``units`` (:func:`rank_share`)."""
        return rank_share(units, self.rank, self.world_size, number)

    def finish(self, merge: Callable[[dict], object]):
        """After every rank is done: rank 0 returns ``merge(records)`` (all ranks' records by
        unit number); the others return None once it has."""
        from mmengine.dist import barrier
        barrier()
        result = merge(self.store.records()) if self.rank == 0 else None
        barrier()
        return result


@contextlib.contextmanager
def claimed(path: str | None):
    """Claim one unit of work among processes that share its folder (the dynamic alternative
    to :func:`rank_share`'s fixed partition: a process started later, or one that finished its
    own units, takes what nobody holds). Yields True while this process holds the claim,
    False when another process does; ``path=None`` always yields True (claims switched off).

    The claim is an exclusive ``flock`` on the file ``path`` (created, then left in place; it
    names the holder's host and pid for a person to read). The kernel drops the lock when its
    process ends, however it ends, so a killed run is free to be taken again. The holder must
    look for the unit's record again once it holds the claim: another process may have
    finished it in between. Local filesystems (and NFS with lock support) only."""
    if path is None:
        yield True
        return
    import fcntl
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        os.ftruncate(fd, 0)
        os.write(fd, f'{socket.gethostname()} {os.getpid()}\n'.encode())
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def check_complete(records: dict, units: Iterable, where: str):
    """One clear error when a unit of ``units`` has no record (a rank did not finish)."""
    missing = [u for u in units if u not in records]
    if missing:
        raise RuntimeError(f'{len(missing)} units have no record in {where} (e.g. '
                           f'{missing[:5]}): run the same command again to finish them')
