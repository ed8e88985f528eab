; Script-Fu batch tests of plug-in-lnlfer (GIMP 3, v2 dialect), loaded by run-gimp-tests.sh
; after common.scm.

; ---- The portrait ---------------------------------------------------------------------
(let* ((img (load-image astronaut)))
  (save-flat img (out "astronaut-before.png") #f)
  (let ((r (lnlfer img)))
    (check-annotated "astronaut" img r 1 1)
    (let ((x (json-number (cadr r) "\"box\":[")))
      (check "astronaut: face box where the face is" (and (> x 150) (< x 200)) "x " x)))
  (save-flat img (out "astronaut-after.png") #t)
  (say "COMPARE astronaut-source-unchanged " (out "astronaut-before.png") " "
       (out "astronaut-after.png"))
  (save-flat img (out "astronaut-annotated.png") #f)
  ; The parasite survives a round trip through XCF.
  (gimp-xcf-save RUN-NONINTERACTIVE img (out "astronaut.xcf"))
  (let ((back (load-image (out "astronaut.xcf"))))
    (check "astronaut: parasite survives XCF"
           (string=? (parasite-text back) (parasite-text img)))
    (check "astronaut: layer group survives XCF" (is-group? (car (layers back))))
    (gimp-image-delete back))
  (gimp-image-delete img))

; Top 3 labels, another colour map, boxes only, and the faces selected.
(let* ((img (load-image astronaut))
       (r (plug-in-lnlfer #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (source img)
                          #:label-content "top-3" #:colormap "inferno" #:opacity 80.0)))
  (check "top-3: faces" (= (car r) 1))
  (check "top-3: region map opacity 80"
         (< (abs (- (car (gimp-layer-get-opacity (cadr (children (car (layers img)))))) 80)) 0.01))
  (save-flat img (out "astronaut-top3-inferno.png") #f)
  (gimp-image-delete img))
(let* ((img (load-image astronaut))
       (r (plug-in-lnlfer #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (source img)
                          #:region-map FALSE #:select-faces TRUE))
       (group (car (layers img)))
       (bounds (gimp-selection-bounds img)))
  (check "boxes only: one layer in the group" (equal? (map name (children group)) '("Boxes and labels")))
  (check "select-faces: selection around the face"
         (and (= (car bounds) 1) (> (cadr bounds) 150) (< (cadr bounds) 200)) bounds)
  (gimp-image-delete img))
(let* ((img (load-image astronaut))
       (r (plug-in-lnlfer #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (source img)
                          #:region-map FALSE #:boxes FALSE)))
  (check "no output asked: faces still returned" (= (car r) 1))
  (check "no output asked: empty group and parasite"
         (and (null? (children (car (layers img)))) (has-parasite? img)))
  (gimp-image-delete img))

; ---- A group photo: the portrait twice, the second smaller and mirrored ------------------
(let* ((src (load-image astronaut))
       (img (car (gimp-image-new 1100 600 RGB)))
       (bg (car (gimp-layer-new img "background" 1100 600 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
       (a (car (gimp-layer-new-from-drawable (vector-ref (source src) 0) img)))
       (b (car (gimp-layer-new-from-drawable (vector-ref (source src) 0) img))))
  (gimp-image-insert-layer img bg 0 0)
  (gimp-drawable-fill bg FILL-WHITE)
  (gimp-image-insert-layer img a 0 0)
  (gimp-layer-set-offsets a 20 40)
  (gimp-image-insert-layer img b 0 0)
  (gimp-item-transform-flip-simple b ORIENTATION-HORIZONTAL TRUE 0)
  (gimp-layer-scale b 380 380 FALSE)
  (gimp-layer-set-offsets b 640 120)
  (let ((merged (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))))
    (gimp-image-set-selected-layers img (vector merged))
    (let ((r (lnlfer img)))
      (check-annotated "group photo" img r 2 1)
      (save-flat img (out "group-annotated.png") #f)))
  (gimp-image-delete src)
  (gimp-image-delete img))

; ---- Bad inputs --------------------------------------------------------------------------
(let* ((img (car (gimp-image-new 1 1 RGB)))
       (l (car (gimp-layer-new img "one pixel" 1 1 RGB-IMAGE 100 LAYER-MODE-NORMAL))))
  (gimp-image-insert-layer img l 0 0)
  (let ((r (lnlfer img)))
    (check "1x1: no face, a message" (and (= (car r) 0) (contains? (cadr r) "\"message\":")))
    (check "1x1: image unchanged" (and (= (length (layers img)) 1) (not (has-parasite? img)))))
  (gimp-image-delete img))

; Grey, indexed, 16-bit and 32-bit float: the same face as in the 8-bit RGB image.
(define (check-converted tag convert)
  (let ((img (load-image astronaut)))
    (convert img)
    (save-flat img (out (string-append tag "-before.png")) #f)
    (let ((r (lnlfer img)))
      (check-annotated tag img r 1 1)
      (let ((x (json-number (cadr r) "\"box\":[")))
        (check (string-append tag ": same face box") (< (abs (- x 172.4)) 6) "x " x)))
    (save-flat img (out (string-append tag "-after.png")) #t)
    (say "COMPARE " tag "-source-unchanged " (out (string-append tag "-before.png")) " "
         (out (string-append tag "-after.png")))
    (save-flat img (out (string-append tag "-annotated.png")) #f)
    (gimp-image-delete img)))
(check-converted "grey" (lambda (img) (gimp-image-convert-grayscale img)))
(check-converted "indexed"
                 (lambda (img) (gimp-image-convert-indexed img CONVERT-DITHER-NONE
                                                           CONVERT-PALETTE-GENERATE 64 FALSE FALSE "")))
(check-converted "16-bit" (lambda (img) (gimp-image-convert-precision img PRECISION-U16-NON-LINEAR)))
(check-converted "float" (lambda (img) (gimp-image-convert-precision img PRECISION-FLOAT-LINEAR)))

; A layer with alpha, partly transparent, at an offset in a larger image.
(let* ((src (load-image astronaut))
       (img (car (gimp-image-new 760 700 RGB)))
       (l (car (gimp-layer-new-from-drawable (vector-ref (source src) 0) img))))
  (gimp-image-insert-layer img l 0 0)
  (gimp-layer-add-alpha l)
  (gimp-layer-set-offsets l 150 100)
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 150 400 512 212)
  (gimp-drawable-edit-clear l)
  (gimp-selection-none img)
  (gimp-image-set-selected-layers img (vector l))
  (save-flat img (out "offset-before.png") #f)
  (let* ((r (lnlfer img)) (x (json-number (cadr r) "\"box\":[")))
    (check-annotated "alpha+offsets" img r 1 1)
    (check "alpha+offsets: box in image coordinates" (< (abs (- x 322.4)) 6) "x " x)
    (check "alpha+offsets: area is the layer" (contains? (cadr r) "\"area\":[150,100,512,512]"))
    (check "alpha+offsets: overlay layers over the layer"
           (equal? (gimp-drawable-get-offsets (car (children (car (layers img))))) '(150 100))))
  (save-flat img (out "offset-after.png") #t)
  (say "COMPARE alpha+offsets-source-unchanged " (out "offset-before.png") " " (out "offset-after.png"))
  (save-flat img (out "offset-annotated.png") #f)
  ; A selection outside the layer: nothing to analyse, nothing changed.
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 0 0 100 90)
  (let ((before (length (layers img))) (r (lnlfer img)))
    (check "selection outside the layer: no face, a message"
           (and (= (car r) 0) (contains? (cadr r) "does not overlap")))
    (check "selection outside the layer: image unchanged" (= (length (layers img)) before)))
  (gimp-image-delete src)
  (gimp-image-delete img))

; Selections: around the face (only it is analysed), away from it, and none.
(let ((img (load-image astronaut)))
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 140 30 170 180)
  (let ((r (lnlfer img)))
    (check "selection around the face: found" (= (car r) 1))
    (check "selection around the face: area is the selection"
           (contains? (cadr r) "\"area\":[140,30,170,180]"))
    (check "selection around the face: layers cover the selection"
           (= (car (gimp-drawable-get-width (car (children (car (layers img)))))) 170)))
  (gimp-image-delete img))
(let ((img (load-image astronaut)))
  (gimp-image-select-rectangle img CHANNEL-OP-REPLACE 0 0 120 120)
  (let ((r (lnlfer img)))
    (check "selection without a face: none, a message"
           (and (= (car r) 0) (contains? (cadr r) "No face")) (cadr r))
    (check "selection without a face: image unchanged"
           (and (= (length (layers img)) 1) (not (has-parasite? img)))))
  (gimp-image-select-ellipse img CHANNEL-OP-REPLACE 0 0 60 60)
  (gimp-image-select-rectangle img CHANNEL-OP-SUBTRACT 0 0 60 60)
  (let ((r (lnlfer img)))
    (check "empty selection: the whole layer" (= (car r) 1)))
  (gimp-image-delete img))

;; A large image (the portrait in a 6000 x 4000 canvas): detected on a downscaled copy, each
;; face classified from a patch read again at full resolution.
(let* ((src (load-image astronaut))
       (img (car (gimp-image-new 6000 4000 RGB)))
       (bg (car (gimp-layer-new img "background" 6000 4000 RGB-IMAGE 100 LAYER-MODE-NORMAL)))
       (a (car (gimp-layer-new-from-drawable (vector-ref (source src) 0) img))))
  (gimp-image-insert-layer img bg 0 0)
  (gimp-drawable-fill bg FILL-WHITE)
  (gimp-image-insert-layer img a 0 0)
  (gimp-layer-set-offsets a 3000 2000)
  (gimp-image-set-selected-layers img (vector (car (gimp-image-merge-visible-layers img CLIP-TO-IMAGE))))
  (let* ((r (lnlfer img)) (x (json-number (cadr r) "\"box\":[")))
    (check "large image: the face found" (>= (car r) 1) "got " (car r))
    (check "large image: the most confident box is the face" (< (abs (- x 3172.4)) 8) "x " x)
    (check "large image: overlay layers as large as the layer"
           (= (car (gimp-drawable-get-width (car (children (car (layers img)))))) 6000)))
  (save-flat img (out "large-annotated.png") #f)
  (gimp-image-delete src)
  (gimp-image-delete img))

(say "BATCH-TESTS-DONE")
