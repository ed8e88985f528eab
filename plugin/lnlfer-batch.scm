; lnlfer-batch.scm: annotate every image of a folder with plug-in-lnlfer, from a GIMP 3
; Script-Fu batch, and write one CSV row per face.
;
;   gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval \
;     -b '(load "/usr/local/share/lnlfer/lnlfer-batch.scm")
;         (lnlfer-annotate-folder "photos" "*.jpg" "annotated" "annotated/faces.csv")' --quit
;
; (Both in one -b: each -b command starts with a fresh interpreter.)
;
; For each IN-DIR/PATTERN file it saves OUT-DIR/<name>-lnlfer.png (the photo with the region
; map and the labelled boxes) and OUT-DIR/<name>-lnlfer.xcf (the layers, and the results as the
; image parasite "lnlfer-results"). The CSV has the columns
;   file,face,x,y,width,height,score,label,probability
; (box in pixels, detector score, most probable expression and its probability). Photos
; without a face get no row; files GIMP cannot open are reported and skipped.
; lnlfer-annotate-folder returns the number of faces found in all.

(define (lnlfer-string-index hay needle start)
  (let ((n (string-length hay)) (m (string-length needle)))
    (let loop ((i start))
      (cond ((> (+ i m) n) #f)
            ((string=? (substring hay i (+ i m)) needle) i)
            (else (loop (+ i 1)))))))

; The text after `key` (found from `start`) up to one of `stops`, and where it ends.
(define (lnlfer-json-field json key start stops)
  (let ((i (lnlfer-string-index json key start)))
    (if (not i)
        #f
        (let loop ((j (+ i (string-length key))))
          (if (memv (string-ref json j) stops)
              (cons (substring json (+ i (string-length key)) j) j)
              (loop (+ j 1)))))))

; One CSV row per face of a results JSON (plug-in-lnlfer's second return value).
(define (lnlfer-csv-rows file json)
  (let loop ((pos 0) (face 0) (rows '()))
    (let ((box (lnlfer-string-index json "\"box\":[" pos)))
      (if (not box)
          (reverse rows)
          (let* ((x (lnlfer-json-field json "\"box\":[" box '(#\,)))
                 (y (lnlfer-json-field json "," (cdr x) '(#\,)))
                 (w (lnlfer-json-field json "," (+ (cdr y) 0) '(#\,)))
                 (h (lnlfer-json-field json "," (+ (cdr w) 0) '(#\])))
                 (score (lnlfer-json-field json "\"score\":" box '(#\, #\})))
                 (label (lnlfer-json-field json "\"label\":\"" box '(#\")))
                 (probs (lnlfer-string-index json "\"probabilities\":" box))
                 (p (lnlfer-json-field json (string-append "\"" (car label) "\":") probs
                                       '(#\, #\}))))
            (loop (cdr h) (+ face 1)
                  (cons (string-append "\"" file "\"," (number->string face) "," (car x) ","
                                       (car y) "," (car w) "," (car h) "," (car score) ","
                                       (car label) "," (car p))
                        rows)))))))

(define (lnlfer-basename path)
  (let loop ((i (- (string-length path) 1)))
    (cond ((< i 0) path)
          ((char=? (string-ref path i) #\/) (substring path (+ i 1) (string-length path)))
          (else (loop (- i 1))))))

(define (lnlfer-strip-extension name)
  (let loop ((i (- (string-length name) 1)))
    (cond ((<= i 0) name)
          ((char=? (string-ref name i) #\.) (substring name 0 i))
          (else (loop (- i 1))))))

(define (lnlfer-annotate-file path out-dir)
  (let* ((img (car (gimp-file-load RUN-NONINTERACTIVE path)))
         ;; a batch load keeps a photo as stored; turn it upright (its EXIF orientation) as
         ;; the interactive load and lnlfer's CLI do, so that the boxes agree with the CLI's
         (upright (gimp-image-policy-rotate img FALSE))
         (layer (car (gimp-image-get-selected-drawables img)))
         (result (plug-in-lnlfer #:run-mode RUN-NONINTERACTIVE #:image img #:drawables layer))
         (stem (string-append out-dir "/" (lnlfer-strip-extension (lnlfer-basename path))
                              "-lnlfer")))
    (gimp-xcf-save RUN-NONINTERACTIVE img (string-append stem ".xcf"))
    (let ((flat (car (gimp-image-duplicate img))))
      (gimp-image-flatten flat)
      (if (= (car (gimp-image-get-base-type flat)) INDEXED) (gimp-image-convert-rgb flat))
      (gimp-file-save RUN-NONINTERACTIVE flat (string-append stem ".png"))
      (gimp-image-delete flat))
    (gimp-image-delete img)
    result))

(define (lnlfer-annotate-folder in-dir pattern out-dir csv-path)
  (let ((csv (open-output-file csv-path))
        (files (car (file-glob (string-append in-dir "/" pattern) 1)))
        (total 0))
    (display "file,face,x,y,width,height,score,label,probability" csv)
    (newline csv)
    (for-each
     (lambda (path)
       (let ((result (catch #f (lnlfer-annotate-file path out-dir))))
         (if (not result)
             (gimp-message (string-append "lnlfer: skipped " path))
             (begin
               (set! total (+ total (car result)))
               (for-each (lambda (row) (display row csv) (newline csv))
                         (lnlfer-csv-rows path (cadr result)))))))
     (if (vector? files) (vector->list files) files))
    (close-output-port csv)
    total))
