; Script-Fu test of plug-in-lnlfer on a huge image (run-gimp-tests.sh defines large-side,
; 30000 by default): the portrait scaled to 2048 x 2048 (a face about 420 pixels wide) pasted
; into a white large-side x large-side layer. The plug-in detects on a copy downscaled to
; 4096 pixels and classifies the face from a patch read again at full resolution; the runner
; checks its peak memory (the test build of the plug-in reports it) and the time taken.
(let* ((src (load-image astronaut))
       (img (car (gimp-image-new large-side large-side RGB)))
       (bg (car (gimp-layer-new img "background" large-side large-side RGB-IMAGE 100
                                LAYER-MODE-NORMAL)))
       (x0 (- (quotient large-side 2) 1024)))
  (gimp-image-scale src 2048 2048)
  (gimp-image-insert-layer img bg 0 0)
  (gimp-drawable-fill bg FILL-WHITE)
  (gimp-edit-copy (source src))
  (let ((floating (vector-ref (car (gimp-edit-paste bg FALSE)) 0)))
    (gimp-layer-set-offsets floating x0 x0)
    (gimp-floating-sel-anchor floating))
  (gimp-image-delete src)
  (gimp-image-set-selected-layers img (vector bg))
  (say "LARGE-START " (car (gimp-image-get-width img)))
  (let* ((r (lnlfer img)) (x (json-number (cadr r) "\"box\":[")))
    (say "LARGE-RESULT " (car r) " faces; " (cadr r))
    (check "huge image: the face found" (>= (car r) 1) "got " (car r))
    (check "huge image: its box where the face is (full-resolution coordinates)"
           (< (abs (- x (+ x0 (* 4 172.4)))) 30) "x " x)
    (check "huge image: a label" (contains? (cadr r) "\"label\":\""))
    (check "huge image: layer group with the region map and the boxes"
           (equal? (map name (children (car (layers img)))) '("Boxes and labels" "Region map")))
    ; A 4000 x 4000 view around the face, to look at (copied, not the whole image duplicated).
    (gimp-image-select-rectangle img CHANNEL-OP-REPLACE (- x0 1000) (- x0 1000) 4000 4000)
    (gimp-edit-copy-visible img)
    (gimp-selection-none img)
    (let ((view (car (gimp-edit-paste-as-new-image))))
      (gimp-image-scale view 1000 1000)
      (gimp-image-flatten view)
      (gimp-file-save RUN-NONINTERACTIVE view (out "huge-face.png"))
      (gimp-image-delete view)))
  (gimp-image-delete img))
(say "LARGE-TESTS-DONE")
