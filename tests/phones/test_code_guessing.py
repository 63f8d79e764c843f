"""Guessing provisioning codes: the budgets of phones.guessing. A guesser with many
addresses is stopped, its odds stay below one in a million a day however many codes are
pending, and it cannot lock any customer's phones out of their own network."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from freezegun import freeze_time
from rest_framework.test import APIClient

from core import ratelimit
from phones import guessing
from phones.models import Category, KnownNetwork, ProvisioningCode
from phones.services.codes import provisioning_code_issue
from reports.models import History, HistoryAction, HistoryResult
from tests.test_faults import private_redis  # noqa: F401  (a fixture)

pytestmark = pytest.mark.django_db

CODE_URL = "/device/api/v1/code"
ACME_OFFICE = "198.51.100.7"  # where acme's admin issues codes
GLOBEX_OFFICE = "192.0.2.9"


def redeem(code: str, *, address: str, mac: str = "00:90:33:1A:2B:3C"):
    return APIClient(REMOTE_ADDR=address).post(CODE_URL, {"code": code, "mac": mac}, format="json")


@pytest.fixture
def acme_phones(customer):
    return Category.objects.create(customer=customer, name="Phones", is_provisioning=True)


@pytest.fixture
def globex_phones(other_customer):
    return Category.objects.create(customer=other_customer, name="Phones", is_provisioning=True)


def wrong_code(n: int) -> str:
    code = f"{n:012d}"
    assert not ProvisioningCode.objects.filter(code=code).exists()
    return code


@freeze_time("2026-12-06 12:00:00")  # no refill while the guesser runs
def test_a_distributed_guesser_locks_no_customer_out_of_its_own_network(
    customer, other_customer, admin, acme_phones, globex_phones
):
    """The attack review's run: 40 addresses x 28 wrong codes use up what every address
    shares, yet a valid code typed on a phone in its customer's network still works; one
    from a network nobody knows waits, and says how long."""
    acme_code = provisioning_code_issue(
        customer=customer, user=admin, category=acme_phones, ip_address=ACME_OFFICE
    )
    globex_code = provisioning_code_issue(
        customer=other_customer, user=None, category=globex_phones, ip_address=GLOBEX_OFFICE
    )
    stray = provisioning_code_issue(customer=customer, user=admin, category=acme_phones)
    answers = [
        redeem(wrong_code(address * 100 + n), address=f"203.0.{address}.1").status_code
        for address in range(40)
        for n in range(28)
    ]
    # The shared budget (two pending codes: CODE_FAILURES_MAX, 1,000 an hour) is spent.
    assert answers.count(404) == 1000
    assert answers.count(429) == 120

    assert redeem(acme_code.code, address="198.51.100.200").status_code == 200
    assert (
        redeem(globex_code.code, address="192.0.2.77", mac="00:90:33:00:00:02").status_code == 200
    )
    refused = redeem(stray.code, address="203.0.113.5", mac="00:90:33:00:00:03")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    stray.refresh_from_db()
    assert stray.used_at is None  # refused before it was looked up
    # The refusal is recorded, without the code (it still works).
    last = History.objects.filter(action=HistoryAction.CODE).order_by("-id").first()
    assert last.result == HistoryResult.RATE_LIMITED
    assert stray.code not in last.token


def test_a_guesser_inside_one_customers_network_spends_only_that_networks_budget(
    settings, customer, other_customer, admin, acme_phones, globex_phones
):
    settings.CODE_FAILURES_MAX = "5/hour"
    acme_code = provisioning_code_issue(
        customer=customer, user=admin, category=acme_phones, ip_address=ACME_OFFICE
    )
    globex_code = provisioning_code_issue(
        customer=other_customer, user=None, category=globex_phones, ip_address=GLOBEX_OFFICE
    )
    # A wrong try there spends one of its network's five and, not being one of acme's
    # codes, one of the five every address shares.
    answers = [redeem(wrong_code(n), address="198.51.100.50").status_code for n in range(6)]
    assert answers == [404] * 5 + [429]
    # acme's network is spent: its own code, looked up there, waits too.
    assert redeem(acme_code.code, address="198.51.100.51").status_code == 429
    # globex's network has its whole budget.
    assert redeem(globex_code.code, address="192.0.2.10").status_code == 200


def test_a_code_that_works_gives_its_try_back(settings, customer, admin, acme_phones):
    settings.CODE_FAILURES_MAX = "1/hour"
    codes = [
        provisioning_code_issue(customer=customer, user=admin, category=acme_phones)
        for _ in range(5)
    ]
    for n, code in enumerate(codes):  # from a network nobody knows: the shared budget
        response = redeem(code.code, address=f"203.0.{n}.1", mac=f"00:90:33:00:00:1{n}")
        assert response.status_code == 200
    assert redeem(wrong_code(1), address="203.0.9.1").status_code == 404
    assert redeem(wrong_code(2), address="203.0.9.2").status_code == 429


def test_networks_are_learned_from_issuers_and_phones_and_forgotten_after_90_days(
    customer, admin, acme_phones
):
    provisioning_code_issue(
        customer=customer, user=admin, category=acme_phones, ip_address="198.51.100.7"
    )
    code = provisioning_code_issue(customer=customer, user=admin, category=acme_phones)
    assert redeem(code.code, address="2001:db8:1:2ff::9").status_code == 200
    known = dict(KnownNetwork.objects.values_list("network", "customer_id"))
    assert known == {"198.51.100.0/24": customer.pk, "2001:db8:1:200::/56": customer.pk}
    now = timezone.now()
    assert guessing.known_customers("198.51.100.0/24", now) == [customer.pk]
    assert guessing.known_customers("198.51.100.0/24", now + timedelta(days=91)) == []
    assert guessing.known_customers(guessing.network_of("198.51.101.7"), now) == []


@pytest.mark.parametrize(
    "address, network",
    [
        ("198.51.100.7", "198.51.100.0/24"),
        ("::ffff:198.51.100.7", "198.51.100.0/24"),
        ("2001:db8:1:2ff::9", "2001:db8:1:200::/56"),
        ("not an address", None),
        ("", None),
        (None, None),
    ],
)
def test_the_network_of_an_address(address, network):
    assert guessing.network_of(address) == network


@pytest.mark.parametrize("pending, tries_a_day", [(1_000, 400.0), (10_000, 40.0), (1_000_000, 0.4)])
def test_the_odds_stay_below_one_in_a_million_a_day(monkeypatch, pending, tries_a_day):
    """The table in SECURITY.md: at CODE_GUESS_ODDS_PER_DAY (4e-7) a guesser's daily odds
    of hitting any of `pending` codes are the same however many there are."""
    monkeypatch.setattr(guessing, "_pending_codes", lambda network, customer_ids: pending)
    budget = guessing.code_budget(network=None, customer_ids=None)
    assert budget.per_day == pytest.approx(tries_a_day)
    odds = budget.per_day * pending / guessing.CODE_SPACE
    assert odds == pytest.approx(4e-7)
    assert odds < 1e-6
    assert budget.capacity == max(1.0, tries_a_day / 24)


def test_budgets_are_sized_by_the_pending_codes_they_guard(
    settings, customer, other_customer, admin, acme_phones, globex_phones
):
    settings.CODE_GUESS_ODDS_PER_DAY = 1e-9  # 1,000 tries a day per pending code
    for _ in range(4):
        provisioning_code_issue(
            customer=customer, user=admin, category=acme_phones, ip_address=ACME_OFFICE
        )
    provisioning_code_issue(customer=other_customer, user=None, category=globex_phones)
    expired = provisioning_code_issue(customer=customer, user=admin, category=acme_phones)
    ProvisioningCode.objects.filter(pk=expired.pk).update(expires_at=timezone.now())
    everyone = guessing.code_budget(network=None, customer_ids=None)
    acme = guessing.code_budget(network="198.51.100.0/24", customer_ids=[customer.pk])
    assert everyone.per_day == pytest.approx(1000 / 5)
    assert acme.per_day == pytest.approx(1000 / 4)
    # New codes size the budget anew at once (not a minute later).
    provisioning_code_issue(customer=other_customer, user=None, category=globex_phones)
    guessing.codes_issued()  # after the commit, which this test's transaction never makes
    assert guessing.code_budget(network=None, customer_ids=None).per_day == pytest.approx(1000 / 6)


def _takes_at_once(threads: int) -> int:
    budget = ratelimit.Budget("test-at-once", per_day=0.001, capacity=5)
    start = threading.Barrier(threads)
    taken = []

    def take():
        start.wait()
        taken.append(ratelimit.budget_take(budget) is None)

    workers = [threading.Thread(target=take) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(taken)


def test_requests_in_flight_cannot_overshoot_a_budget_in_process():
    assert _takes_at_once(40) == 5


def test_requests_in_flight_cannot_overshoot_a_budget_in_redis(private_redis):  # noqa: F811
    redis_cache = {"BACKEND": "django.core.cache.backends.redis.RedisCache"}
    with override_settings(CACHES={"default": {**redis_cache, "LOCATION": private_redis.url()}}):
        assert _takes_at_once(40) == 5
        assert private_redis.client.exists("rlb:test-at-once")


def test_a_budget_refills_at_its_rate_and_gives_back_no_more_than_it_holds():
    budget = ratelimit.Budget("test-refill", per_day=24, capacity=1)  # one an hour
    assert ratelimit.budget_take(budget, now=1000.0) is None
    wait = ratelimit.budget_take(budget, now=1000.0)
    assert wait == pytest.approx(3600)
    assert ratelimit.budget_take(budget, now=1000.0 + 1800) == pytest.approx(1800)
    assert ratelimit.budget_take(budget, now=1000.0 + 3600) is None
    ratelimit.budget_give_back(budget, now=1000.0 + 3600)
    ratelimit.budget_give_back(budget, now=1000.0 + 3600)  # more than it holds: kept at 1
    assert ratelimit.budget_take(budget, now=1000.0 + 3600) is None
    assert ratelimit.budget_take(budget, now=1000.0 + 3600) is not None
