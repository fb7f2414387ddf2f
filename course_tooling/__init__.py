"""course_tooling: the developers' test tooling (not the student runtime, not the grader).

* :mod:`.corpus` -- the submission corpus (``tests/corpus/<assignment>/*.yaml``) as notebooks;
* :mod:`.corpus_grading` -- grading corpus entries with real ``nbgrader autograde``;
* :mod:`.mutation` -- mutation analysis of the hidden tests;
* :mod:`.demo_class` -- the demo class of ``course demo``, built from the corpus.
"""
