"""The Airflow UI in a real browser, the way users schedule and backfill.

Headless Chromium drives the embedded stack's Airflow 3 React UI: sign in, see
every DAG of ``dags/`` with its rendered documentation, backfill two days of
``prices_history`` from the Trigger → Backfill dialog, watch the runs turn
green on the Runs tab, and read a line the task logged in its log view.
Each step leaves a numbered screenshot in the test's tmp dir; a failing step
adds the page source and the browser console beside it.

The backfill reprocesses "All Runs": ``test_prices_dags`` backfills the whole
replay window with "Missing Runs" first (files run in name order), and
re-running two of its days rewrites the same partitions with the same rows.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from browser import Browser, missing_binaries, start_chromium, xpath_literal
from newsmarkets.local.airflow_stack import ADMIN_USER

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

DAG_ID = "prices_history"
FETCH_TASK = "Fetch day of history"
# A line fetch_history() logs itself, not Airflow's boilerplate.
TASK_LINE = re.compile(r"staged \d+ history points .*")
DIALOG = "//*[@role='dialog' and @aria-modal='true' and @data-state='open']"
RUN_TIMEOUT_S = 600


@pytest.fixture
def browser(tmp_path: Path):
    missing = missing_binaries()
    if missing:
        pytest.fail(f"{', '.join(missing)} not found: run scripts/ci-browser-deps.sh (Debian chromium, chromium-driver)")
    shots = tmp_path / "ui"
    shots.mkdir()
    driver = start_chromium(shots / "chromedriver.log")
    print(f"\nUI screenshots: {shots}")
    try:
        yield Browser(driver, shots)
    finally:
        driver.quit()


def _markdown_expectations(doc_md: str) -> tuple[list[str], list[str]]:
    """Headings and inline code spans a rendered doc must show as real elements."""
    headings = [m.group(1).strip() for m in re.finditer(r"^\s*#{1,6}\s+(.+?)\s*#*\s*$", doc_md, re.MULTILINE)]
    codes = re.findall(r"(?<!`)`([^`\n]+)`(?!`)", doc_md)
    return headings, codes[:2]


def _sign_in(b: Browser, base_url: str, user: str, password: str) -> None:
    b.driver.get(base_url)
    b.wait(lambda d: "/auth/login" in d.current_url, "the sign-in page")
    b.labelled("Username").send_keys(user)
    b.labelled("Password").send_keys(password)
    b.click(b.by_role("button", "Sign in"))
    b.wait(lambda d: "/auth/login" not in d.current_url, "leaving the sign-in page")
    b.by_role("button", "User")  # the nav's user menu: signed in and the app rendered


def _open_dag_from_list(b: Browser, base_url: str, dag_id: str, display_name: str) -> None:
    b.driver.get(f"{base_url}/dags")
    link = b.visible(By.XPATH, f"//a[@data-testid='dag-id' and @href='/dags/{dag_id}']", f"{dag_id} in the DAG list")
    assert link.text.strip() == display_name, (dag_id, link.text)
    b.click(link)
    b.wait(lambda d: d.current_url.rstrip("/").endswith(f"/dags/{dag_id}"), f"the {dag_id} page")
    b.visible(By.XPATH, f"//h2[normalize-space()={xpath_literal(display_name)}]", f"{display_name} heading")


def _check_docs_rendered(b: Browser, dag_id: str, doc_md: str) -> None:
    b.click(b.by_role("button", "Dag Docs"))
    dialog = b.visible(By.XPATH, f"{DIALOG}[.//*[normalize-space()='Dag Documentation']]", "the Dag Docs dialog")
    headings, codes = _markdown_expectations(doc_md)
    assert headings or codes, f"{dag_id}: doc_md has neither a heading nor inline code to check rendering by"
    for heading in headings:
        b.visible(By.XPATH, f"{DIALOG}//*[self::h1 or self::h2 or self::h3 or self::h4 or self::h5 or self::h6]"
                            f"[normalize-space()={xpath_literal(heading)}]", f"{dag_id} doc heading {heading!r}")
    for code in codes:
        b.visible(By.XPATH, f"{DIALOG}//code[normalize-space()={xpath_literal(' '.join(code.split()))}]",
                  f"{dag_id} doc code {code!r}")
    # Rendered, not shown as source: no markdown syntax left in the text.
    assert "###" not in dialog.text and "**" not in dialog.text, dialog.text[:500]


def _close_dialog(b: Browser) -> None:
    b.click(b.by_role("button", "Close", within=DIALOG))
    b.wait(lambda d: not [e for e in d.find_elements(By.XPATH, DIALOG) if e.is_displayed()], "the dialog to close")


def _pick_date(b: Browser, field: str, day: date, shown: str) -> None:
    """Type a day into the backfill form's From/To picker (a popover with a YYYY/MM/DD box)."""
    label = b.visible(By.XPATH, f"{DIALOG}//label[normalize-space()={xpath_literal(field)}]", f"the {field} field")
    trigger = label.find_element(By.XPATH, "following::*[@data-testid='datetime-input'][1]")
    b.click(trigger)
    box = b.visible(By.XPATH, "//input[@placeholder='YYYY/MM/DD']", f"the {field} date box")
    box.send_keys(day.strftime("%Y/%m/%d"))
    box.send_keys(Keys.ESCAPE)
    b.wait(lambda d: not d.find_elements(By.XPATH, "//input[@placeholder='YYYY/MM/DD']"), "the date popover to close")
    b.wait(lambda _: trigger.text.strip() == shown, f"{field} to show {shown!r} (shows {trigger.text!r})")


def _backfill_banner(b: Browser) -> bool:
    return any(e.is_displayed() for e in b.driver.find_elements(
        By.XPATH, "//*[starts-with(normalize-space(), 'Backfill in progress')]"))


def _runs_table(b: Browser) -> list[dict]:
    """The Runs tab's rows, read from the page as a user sees them."""
    rows = []
    for tr in b.driver.find_elements(By.XPATH, "//table[@data-testid='table-list']/tbody/tr"):
        def cell(name: str, tr=tr):
            found = tr.find_elements(By.XPATH, f"./td[@data-testid='table-cell-{name}']")
            return found[0] if found else None

        run_id, run_after, state, started = cell("dag_run_id"), cell("run_after"), cell("state"), cell("start_date")
        if run_id is None or run_after is None or state is None:
            continue
        run_after_times = run_after.find_elements(By.TAG_NAME, "time")
        if not run_after_times:  # a skeleton row while the table loads: the caller polls again
            continue
        times = started.find_elements(By.TAG_NAME, "time") if started is not None else []
        rows.append({
            "run_id": run_id.text.strip(),
            "run_after": run_after_times[0].get_attribute("datetime"),
            "state": state.text.strip(),
            "start_date": times[0].get_attribute("datetime") if times else None,
        })
    return rows


def _parse_utc(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)


def _task_log_line(logs_dir: Path, dag_id: str, run_id: str, task_id: str) -> str:
    """The line ``TASK_LINE`` as the task wrote it to its latest attempt's log file (JSON lines)."""
    attempts = sorted((logs_dir / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}").glob("attempt=*.log"),
                      key=lambda p: int(re.search(r"attempt=(\d+)", p.name).group(1)))
    assert attempts, f"no log file for {dag_id}/{run_id}/{task_id} under {logs_dir}"
    for raw in attempts[-1].read_text().splitlines():
        try:
            event = json.loads(raw).get("event", "")
        except ValueError:
            continue
        if TASK_LINE.fullmatch(event):
            return event
    raise AssertionError(f"{attempts[-1]} has no line matching {TASK_LINE.pattern!r}")


def test_user_signs_in_reads_docs_backfills_and_reads_a_log(env, warehouse, browser: Browser):
    b, base = browser, env.airflow.base_url
    timings: dict[str, float] = {}

    # Every DAG file in dags/ parsed (import errors raise here), with its doc as the API serves it.
    parsed = env.airflow.wait_for_dags(timeout_s=120)
    dag_files = {p.name for p in env.airflow.dags_folder.glob("*.py") if not p.name.startswith(("_", "."))}
    rows = env.airflow.query("SELECT dag_id, dag_display_name, fileloc FROM dag WHERE NOT is_stale")
    assert {Path(fileloc).name for _, _, fileloc in rows} >= dag_files, (dag_files, rows)
    dags = {dag_id: name or dag_id for dag_id, name, _ in rows if dag_id in parsed}
    docs = {dag_id: env.airflow.api("GET", f"/dags/{dag_id}/details")["doc_md"] or "" for dag_id in dags}
    assert all(docs.values()), {d: bool(doc) for d, doc in docs.items()}

    with b.step("sign in", timings):
        _sign_in(b, base, ADMIN_USER, env.airflow.admin_password)

    with b.step("dag list", timings):
        b.driver.get(f"{base}/dags")
        b.text_visible(f"{len(dags)} Dags")
        listed = {e.get_attribute("href").rsplit("/dags/", 1)[1]: e.text.strip()
                  for e in b.driver.find_elements(By.XPATH, "//a[@data-testid='dag-id']")}
        assert listed == dags, (listed, dags)

    for dag_id, display_name in sorted(dags.items()):
        with b.step(f"docs {dag_id}", timings):
            _open_dag_from_list(b, base, dag_id, display_name)
            _check_docs_rendered(b, dag_id, docs[dag_id])
        _close_dialog(b)

    # The last two days of the replay window: one daily run each.
    first_day, last_day = env.window.last_day - timedelta(days=1), env.window.last_day
    days = [first_day, last_day]
    with b.step("backfill form", timings):
        _open_dag_from_list(b, base, DAG_ID, dags[DAG_ID])
        # One open backfill per DAG: an earlier test's may still be closing (the scheduler closes them every 30 s).
        b.poll(lambda: not env.airflow.query(
            "SELECT id FROM backfill WHERE dag_id = %s AND completed_at IS NULL", (DAG_ID,)),
            "the previous backfill to close", timeout_s=120)
        b.driver.refresh()
        b.click(b.by_role("button", "Trigger Dag"))
        b.choose("Backfill", within=DIALOG)
        b.visible(By.XPATH, f"{DIALOG}//h2[starts-with(normalize-space(), 'Run Backfill')]", "the Run Backfill title")
        _pick_date(b, "From", first_day, first_day.strftime("%b %d, %Y 00:00"))
        _pick_date(b, "To", last_day, last_day.strftime("%b %d, %Y 23:59"))
        b.choose("All Runs", within=DIALOG)
        max_runs = b.visible(By.XPATH, f"{DIALOG}//input[@name='max_active_runs']", "Max Active Runs")
        max_runs.send_keys(Keys.CONTROL, "a")
        max_runs.send_keys("2")
        unpause = [e for e in b.driver.find_elements(By.XPATH, f"{DIALOG}//*[starts-with(normalize-space(), 'Unpause ')"
                                                                f" and contains(normalize-space(), ' on trigger')]")
                   if e.is_displayed()]
        if unpause:  # a paused DAG starts no runs, backfill runs included
            b.choose(unpause[0].text.strip(), within=DIALOG)
        b.text_visible(f"{len(days)} runs will be triggered.", within=DIALOG)

    with b.step("backfill submitted", timings):
        submitted_at = datetime.now(timezone.utc) - timedelta(seconds=2)  # the server stamps start dates
        b.click(b.by_role("button", "Run Backfill", within=DIALOG))
        b.text_visible("Backfill generated")
        b.text_visible(f"{first_day.isoformat()} 00:00:00 - {last_day.isoformat()} 23:59:59")  # the in-progress banner
        assert _backfill_banner(b)

    # A daily interval runs after its end: each day's run is "Run After" the next midnight.
    run_after = {datetime(d.year, d.month, d.day, tzinfo=timezone.utc) + timedelta(days=1): d for d in days}

    def runs_done():
        b.driver.refresh()
        b.visible(By.XPATH, "//table[@data-testid='table-list']", "the runs table")
        ours = {}
        for row in _runs_table(b):
            after = _parse_utc(row["run_after"])
            if after in run_after and row["start_date"] and _parse_utc(row["start_date"]) >= submitted_at:
                ours[after] = row
        failed = [r for r in ours.values() if r["state"] == "Failed"]
        assert not failed, f"backfill runs failed in the UI: {failed}"
        if len(ours) == len(run_after) and all(r["state"] == "Success" for r in ours.values()):
            return ours
        return None

    with b.step("runs succeeded", timings):
        b.click(b.by_role("link", "Runs"))
        b.wait(lambda d: d.current_url.rstrip("/").endswith(f"/dags/{DAG_ID}/runs"), "the Runs tab")
        ours = b.poll(runs_done, "both backfill runs shown as Success", timeout_s=RUN_TIMEOUT_S)

    first_run = ours[min(ours)]["run_id"]
    expected_line = _task_log_line(env.airflow.logs_dir, DAG_ID, first_run, "fetch")
    with b.step("task log", timings):
        b.click(b.visible(By.XPATH, f"//td[@data-testid='table-cell-dag_run_id']//a[.//*[@title={xpath_literal(first_run)}]]",
                          f"run {first_run}"))
        b.click(b.visible(By.XPATH, f"//table[@data-testid='table-list']//a[.//*[@title={xpath_literal(FETCH_TASK)}]]",
                          f"task {FETCH_TASK}"))
        b.visible(By.XPATH, "//a[normalize-space()='Logs' and @aria-current='page']", "the Logs tab")
        b.text_visible(expected_line, within="//*[@data-testid='virtualized-list']", timeout_s=60)

    # What the UI showed is what Airflow did: one backfill over exactly these days, reprocessing, all green.
    backfill_id, from_date, to_date, reprocess = env.airflow.query(
        "SELECT id, from_date, to_date, reprocess_behavior FROM backfill WHERE dag_id = %s AND created_at >= %s "
        "ORDER BY id", (DAG_ID, submitted_at))[-1]
    assert (from_date.date(), to_date.date(), reprocess) == (first_day, last_day, "completed")
    runs = env.airflow.query("SELECT logical_date, state FROM dag_run WHERE backfill_id = %s", (backfill_id,))
    assert sorted((logical.date(), state) for logical, state in runs) == [(d, "success") for d in days], runs
    history = warehouse.read("price_snapshots")
    history = history[history["source"] == "market_chart"]
    assert {d.isoformat() for d in days} <= set(history["dt"])
    print("UI step timings (s): " + ", ".join(f"{k}={v}" for k, v in timings.items()))
