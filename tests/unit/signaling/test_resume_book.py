"""ResumeBook: what an instance keeps of resume tokens, to write back into a restarted Redis."""

from __future__ import annotations

from signaling.resume_book import ResumeBook


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_token_resumes_once_and_only_before_it_expires() -> None:
    clock = Clock()
    book = ResumeBook(clock=clock)
    book.issue("t1", "c-1", 10)
    book.issue("t2", "c-2", 10)
    assert book.take("t1") == "c-1"
    assert book.take("t1") is None
    clock.now += 11
    assert book.take("t2") is None


def test_unused_tokens_and_used_ones_are_listed_with_what_is_left_of_their_life() -> None:
    clock = Clock()
    book = ResumeBook(clock=clock)
    book.issue("fresh", "c-1", 10)
    book.issue("used-here", "c-1", 10)
    book.note_taken("used-here", 10)
    book.note_taken("used-elsewhere", 5)
    clock.now += 4
    assert [(t.token, t.subject_id, t.ttl_s) for t in book.issued()] == [("fresh", "c-1", 6)]
    assert [(t.token, t.ttl_s) for t in book.taken()] == [("used-here", 6), ("used-elsewhere", 1)]
    clock.now += 2
    assert [t.token for t in book.taken()] == ["used-here"]


def test_the_book_is_bounded_oldest_first() -> None:
    book = ResumeBook(limit=2)
    for token in ("a", "b", "c"):
        book.issue(token, "c-1", 60)
        book.note_taken("x" + token)
    assert [t.token for t in book.issued()] == ["b", "c"]
    assert [t.token for t in book.taken()] == ["xb", "xc"]
