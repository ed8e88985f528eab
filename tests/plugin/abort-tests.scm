; Script-Fu test of aborted runs of plug-in-lnlfer, loaded after common.scm; run-gimp-tests.sh
; runs it with the plug-in's test build (plugin/testing.c) and sets LNLFER_TEST_CANCEL (the
; engine's progress callback stops the analysis while the detector runs) or
; LNLFER_TEST_FAIL_ANNOTATION (selecting the faces, the annotation's last step, fails). The
; call is cancelled (GIMP_PDB_CANCEL, which Script-Fu does not raise as an error: no results
; then) or fails, and the image is left as it was: no layer group, no parasite, the
; selection kept.
(define (abort-test tag label-content text-labels)
  (let ((img (load-image astronaut)))
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 10 10 500 480)
    (let ((outcome (catch 'failed
                          (let ((r (plug-in-lnlfer #:run-mode RUN-NONINTERACTIVE #:image img
                                                   #:drawables (source img) #:select-faces TRUE
                                                   #:label-content label-content
                                                   #:text-labels text-labels)))
                            (if (and (pair? r) (> (car r) 0)) 'succeeded 'cancelled)))))
      (check (string-append tag ": the call is cancelled or fails")
             (memq outcome '(failed cancelled)) outcome))
    (check (string-append tag ": no layer group, no parasite")
           (and (= (length (layers img)) 1) (not (has-parasite? img))) (map name (layers img)))
    (check (string-append tag ": the selection kept")
           (equal? (cdr (gimp-selection-bounds img)) '(10 10 510 490)) (gimp-selection-bounds img))
    (gimp-image-delete img)))
(abort-test "aborted" "top-class" FALSE)
(abort-test "aborted, text labels" "top-3" TRUE)
(say "ABORT-TESTS-DONE")
