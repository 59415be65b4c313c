"""Transport: how model and API requests are sent, waited on, retried and ordered.

Owns the transient-error policy and ``Retry-After`` parsing (:mod:`.retries`), the adaptive
client-side rate limiter (:mod:`.ratelimit`), bounded-concurrency runners that return results
in input order or as they complete (:mod:`.ordered`), and a blocking reader (standard input, a
FIFO) read on a thread of its own so that it never stalls the event loop (:mod:`.threaded`).

May import: third-party libraries only (it is the bottom layer, with :mod:`..redaction`).
"""
