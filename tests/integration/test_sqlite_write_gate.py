"""On SQLite a long job's back-to-back transactions never starve another writer of the process."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from sqlalchemy import update

from reminders.db import make_engine, make_sessionmaker
from reminders.migrations import upgrade
from reminders.models import Account

BATCHES = 40


def test_a_writer_goes_in_after_the_batch_in_progress_not_after_the_whole_job(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'gate.db'}"
    upgrade(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    with factory.begin() as session:
        job, other = Account(name="job"), Account(name="other")
        session.add_all([job, other])
        session.flush()
        ids = job.id, other.id
    done = 0
    second_batch_open = threading.Event()
    other_went_in_after: list[int] = []

    def long_job() -> None:
        nonlocal done
        for n in range(BATCHES):
            with factory.begin() as session:
                session.execute(update(Account).where(Account.id == ids[0]).values(name=f"job {n}"))
                if n == 1:
                    second_batch_open.set()
                time.sleep(0.01)  # a batch's worth of work while holding the write lock
            done += 1

    def one_write() -> None:
        second_batch_open.wait()
        with factory.begin() as session:
            session.execute(update(Account).where(Account.id == ids[1]).values(name="written"))
        other_went_in_after.append(done)

    threads = [threading.Thread(target=long_job), threading.Thread(target=one_write)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    engine.dispose()

    (batches_before,) = other_went_in_after
    assert batches_before <= 3  # first come, first served: behind the batch it found, not all 40
