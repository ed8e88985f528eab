; Script-Fu test of plug-in-lnlfer with missing or corrupt weights (run-gimp-tests.sh sets
; LNLFER_WEIGHTS or LNLFER_DETECTOR to a bad file), loaded after common.scm: the call fails
; and the image is left as it was. The last call is not caught, so that GIMP prints the
; plug-in's error message for the runner to check.
(define img (load-image astronaut))
(define outcome (catch 'failed (begin (lnlfer img) 'succeeded)))
(check "bad weights: the call fails" (eq? outcome 'failed) outcome)
(check "bad weights: no layer group, no parasite"
       (and (= (length (layers img)) 1) (not (has-parasite? img))))
(say "WEIGHTS-TESTS-DONE")
(lnlfer img)
