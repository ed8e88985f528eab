; Script-Fu test of plug-in-lnlfer's editable text labels where GIMP has no fonts
; (gimp-console --no-fonts): the call still succeeds, the labels drawn into the boxes layer.
(let* ((img (load-image astronaut))
       (r (plug-in-lnlfer #:run-mode RUN-NONINTERACTIVE #:image img #:drawables (source img)
                          #:text-labels TRUE)))
  (check "no fonts: text labels asked, the face found" (= (car r) 1))
  (check "no fonts: no text layer, the boxes and the map"
         (equal? (map name (children (car (layers img)))) '("Boxes and labels" "Region map"))
         (map name (children (car (layers img)))))
  (save-flat img (out "no-fonts-text-labels.png") #f)
  (gimp-image-delete img))
(say "NO-FONTS-TESTS-DONE")
