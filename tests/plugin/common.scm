; Helpers of the Script-Fu tests of plug-in-lnlfer (GIMP 3, v2 dialect). run-gimp-tests.sh
; defines `srcdir` (the checkout) and `outdir` (annotated images, comparisons) before loading
; this file. Tests print "PASS name" / "FAIL name: detail" lines, and "COMPARE name a.png
; b.png" lines for the runner to compare pixels.

(define astronaut (string-append srcdir "/tests/data/astronaut.png"))
; A real group photo (MIT licence: tests/data/face-api-sample5.NOTICE.md), five faces.
(define group-photo (string-append srcdir "/tests/data/face-api-sample5.jpg"))

; A line of strings is written with one display, so that messages other processes write to
; the same log cannot split it (a COMPARE line was once cut in two by a file-png warning).
(define (say . xs)
  (if (and (pair? xs) (not (memq #f (map string? xs))))
      (display (string-append (apply string-append xs) "\n"))
      (begin (for-each display xs) (newline))))
(define (check name ok . detail)
  (if ok (say "PASS " name) (apply say "FAIL " name ": " detail)))

; Reading the results JSON by string search, to check it against the returned vectors
; (scripts need not: scripting-tests.scm and plugin/lnlfer-batch.scm use the vectors).
(define (string-index-from hay needle start)
  (let ((n (string-length hay)) (m (string-length needle)))
    (let loop ((i start))
      (cond ((> (+ i m) n) #f)
            ((string=? (substring hay i (+ i m)) needle) i)
            (else (loop (+ i 1)))))))
(define (string-index-of hay needle) (string-index-from hay needle 0))
(define (contains? hay needle) (if (string-index-of hay needle) #t #f))

; The text after `key` (found from `start`) up to one of `stops`, and where it ends.
(define (json-field json key start stops)
  (let ((i (string-index-from json key start)))
    (if (not i)
        #f
        (let loop ((j (+ i (string-length key))))
          (if (memv (string-ref json j) stops)
              (cons (substring json (+ i (string-length key)) j) j)
              (loop (+ j 1)))))))

; The number that follows `key` in a JSON text, e.g. (json-number j "\"box\":[") -> 172.36
(define (json-number json key)
  (let ((field (json-field json key 0 '(#\, #\] #\}))))
    (if field (string->number (car field)) -1)))

; Every face box of a JSON text: a list of (x y w h).
(define (split-commas s)
  (let loop ((i 0) (from 0) (acc '()))
    (cond ((= i (string-length s)) (reverse (cons (substring s from i) acc)))
          ((char=? (string-ref s i) #\,) (loop (+ i 1) (+ i 1) (cons (substring s from i) acc)))
          (else (loop (+ i 1) from acc)))))
(define (json-boxes json)
  (let loop ((start 0) (acc '()))
    (let ((i (string-index-from json "\"box\":[" start)))
      (if (not i)
          (reverse acc)
          (let* ((b (+ i 7)) (e (string-index-from json "]" b)))
            (loop e (cons (map string->number (split-commas (substring json b e))) acc)))))))
(define (box-holds? box x y)
  (and (<= (car box) x) (<= x (+ (car box) (caddr box)))
       (<= (cadr box) y) (<= y (+ (cadr box) (list-ref box 3)))))

(define (layers img) (vector->list (car (gimp-image-get-layers img))))
(define (children item) (vector->list (car (gimp-item-get-children item))))
(define (name item) (car (gimp-item-get-name item)))
(define (is-group? item) (= 1 (car (gimp-item-is-group item))))
(define (is-text? item) (= 1 (car (gimp-item-id-is-text-layer item))))
(define (text-of item) (car (gimp-text-layer-get-text item)))
(define (keep ok? xs) (cond ((null? xs) '()) ((ok? (car xs)) (cons (car xs) (keep ok? (cdr xs))))
                            (else (keep ok? (cdr xs)))))
(define (count-char c s)
  (let loop ((i 0) (n 0))
    (if (= i (string-length s)) n (loop (+ i 1) (if (char=? (string-ref s i) c) (+ n 1) n)))))
(define (source img) (car (gimp-image-get-selected-drawables img)))
(define (has-parasite? img)
  (let ((names (car (gimp-image-get-parasite-list img))))
    (if (member "lnlfer-results" (if (vector? names) (vector->list names) names)) #t #f)))
(define (parasite-text img)
  (if (has-parasite? img) (caddr (car (gimp-image-get-parasite img "lnlfer-results"))) ""))

(define (load-image path) (car (gimp-file-load RUN-NONINTERACTIVE path)))

; Saves a flattened copy of `img`; with drop-groups, the lnlfer layer groups removed first.
(define (save-flat img path drop-groups)
  (let ((dup (car (gimp-image-duplicate img))))
    (if drop-groups
        (for-each (lambda (l) (if (is-group? l) (gimp-image-remove-layer dup l))) (layers dup)))
    (gimp-image-flatten dup)
    (if (= (car (gimp-image-get-base-type dup)) INDEXED) (gimp-image-convert-rgb dup))
    (if (not (= (car (gimp-image-get-precision dup)) PRECISION-U8-NON-LINEAR))
        (gimp-image-convert-precision dup PRECISION-U8-NON-LINEAR))
    (gimp-file-save RUN-NONINTERACTIVE dup path)
    (gimp-image-delete dup)))

(define (out name) (string-append outdir "/" name))

; Runs the plug-in with default arguments on the image's selected layer; returns (n json).
(define (lnlfer img)
  (plug-in-lnlfer #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (source img)))

; The common checks of a run that found `n` faces: one new layer group (two layers when
; both outputs are on), the parasite, the source pixels unchanged (compared by the runner).
(define (check-annotated tag img result n-expected n-layers-before)
  (let* ((n (car result)) (json (cadr result)) (top (layers img)) (group (car top)))
    (check (string-append tag ": faces") (= n n-expected) "got " n)
    (check (string-append tag ": one layer group added")
           (and (= (length top) (+ n-layers-before 1)) (is-group? group)
                (string=? (name group) "Facial expressions"))
           (length top) " layers")
    (check (string-append tag ": group holds the region map and the boxes")
           (equal? (map name (children group)) '("Boxes and labels" "Region map")))
    (check (string-append tag ": region map opacity 60")
           (< (abs (- (car (gimp-layer-get-opacity (cadr (children group)))) 60)) 0.01))
    (check (string-append tag ": parasite holds the returned JSON")
           (contains? (parasite-text img) json))
    (check (string-append tag ": JSON has faces with labels and regions")
           (and (contains? json "\"faces\":[{\"box\":[") (contains? json "\"label\":\"")
                (contains? json "\"probabilities\":{\"neutral\":")
                (contains? json "\"regions\":[{\"weight\":")))))

