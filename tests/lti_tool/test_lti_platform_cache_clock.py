"""The registration lookup cache runs on the adapter's injectable clock, like platform-key expiry."""

from lti_tool.lti.adapter import LtiAdapter


def _adapter(clock, calls):
    def find(issuer, client_id):
        calls.append((issuer, client_id))
        return None

    return LtiAdapter(cache=None, keyring=None, find_platform=find, on_deployment=lambda *a: None, clock=clock)


def test_platform_lookup_cache_expires_on_the_injected_clock(manual_clock):
    calls = []
    adapter = _adapter(manual_clock, calls)
    adapter.find_platform("https://lms.example", "c1")
    adapter.find_platform("https://lms.example", "c1")
    assert len(calls) == 1  # cached
    manual_clock.advance(LtiAdapter.PLATFORM_TTL + 1)
    adapter.find_platform("https://lms.example", "c1")
    assert len(calls) == 2  # expired by the injected clock, with no real time passing


def test_platform_lookup_cache_holds_while_the_injected_clock_stands_still(manual_clock):
    calls = []
    adapter = _adapter(manual_clock, calls)
    adapter.find_platform("https://lms.example", "c1")
    manual_clock.advance(LtiAdapter.PLATFORM_TTL - 1)
    adapter.find_platform("https://lms.example", "c1")
    assert len(calls) == 1
