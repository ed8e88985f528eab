#!/usr/bin/env gimp-script-fu-interpreter-3.0
;!# (closes the block comment that "#!" opens when this file is loaded with `load`)

; lnlfer-batch.scm: annotate every image of a folder with plug-in-lnlfer and write a
; summary of the faces (CSV or JSON).
;
; Installed as a Script-Fu plug-in (plug-ins/lnlfer-batch/lnlfer-batch.scm, executable), it
; registers the procedure plug-in-lnlfer-folder: File > Facial Expressions in a Folder...,
; whose dialog asks for the folder, the file pattern, the output folder and the summary's
; format. From a batch:
;
;   gimp-console-3.0 -i --batch-interpreter=plug-in-script-fu-eval -b '
;     (plug-in-lnlfer-folder #:run-mode RUN-NONINTERACTIVE #:folder "photos"
;                            #:pattern "*.jpg" #:output-folder "out" #:summary 0)' --quit
;
; The same file can also be loaded into a Script-Fu batch for its functions:
;
;   -b '(load "/usr/share/lnlfer/lnlfer-batch.scm")
;       (lnlfer-annotate-folder "photos" "*.jpg" "out" "out/faces.csv")'
;
; (both in one -b: each -b command starts with a fresh interpreter).
;
; For each FOLDER/PATTERN file it saves OUT/<name>-lnlfer.png (the photo with the region map
; and the labelled boxes) and OUT/<name>-lnlfer.xcf (the layers, and the results as the
; parasite "lnlfer-results" of the layer group and of the image). The CSV summary has one
; row per face, with the columns
;   file,face,x,y,width,height,score,label,probability
; (box in pixels, detector score, most probable expression and its probability); the JSON
; summary has one entry per file: {"file", "faces", "png", "xcf", "results": the
; plug-in's results JSON}, or {"file", "error"} for a file GIMP cannot open. Photos without
; a face get no CSV row; files GIMP cannot open are reported and skipped.
; It reads plug-in-lnlfer's returned vectors (labels, boxes, scores, classes,
; probabilities), not its JSON text.

; A list from a list or a vector (Script-Fu returns arrays as vectors, string arrays as
; lists).
(define (lnlfer-as-list x) (if (vector? x) (vector->list x) x))

; plug-in-lnlfer's returned values, by name (the order of plugin/README.md).
(define (lnlfer-faces r) (car r))
(define (lnlfer-results-json r) (cadr r))
(define (lnlfer-labels r) (lnlfer-as-list (list-ref r 2)))
(define (lnlfer-boxes r) (lnlfer-as-list (list-ref r 3)))
(define (lnlfer-scores r) (lnlfer-as-list (list-ref r 4)))
(define (lnlfer-classes r) (lnlfer-as-list (list-ref r 5)))
(define (lnlfer-probabilities r) (lnlfer-as-list (list-ref r 6)))

; x rounded to `digits` decimals, as text.
(define (lnlfer-fixed x digits)
  (let* ((scale (expt 10 digits)) (v (/ (round (* x scale)) scale)))
    (number->string (if (integer? v) (inexact->exact v) v))))

(define (lnlfer-position x xs)
  (let loop ((xs xs) (i 0))
    (cond ((null? xs) #f) ((string=? (car xs) x) i) (else (loop (cdr xs) (+ i 1))))))

; One CSV row per face of plug-in-lnlfer's result `r` for `file`.
(define (lnlfer-csv-rows file r)
  (let ((boxes (lnlfer-boxes r)) (scores (lnlfer-scores r)) (classes (lnlfer-classes r))
        (probs (lnlfer-probabilities r)))
    (let loop ((face 0) (labels (lnlfer-labels r)) (rows '()))
      (if (null? labels)
          (reverse rows)
          (let* ((box (list-tail boxes (* 4 face)))
                 (k (lnlfer-position (car labels) classes))
                 (p (if k (list-ref probs (+ (* face (length classes)) k)) 0)))
            (loop (+ face 1) (cdr labels)
                  (cons (string-append (lnlfer-csv-string file) "," (number->string face) ","
                                       (lnlfer-fixed (car box) 2) ","
                                       (lnlfer-fixed (cadr box) 2) ","
                                       (lnlfer-fixed (caddr box) 2) ","
                                       (lnlfer-fixed (cadddr box) 2) ","
                                       (lnlfer-fixed (list-ref scores face) 4) ","
                                       (car labels) "," (lnlfer-fixed p 4))
                        rows)))))))

; A CSV field for `s`: quoted, its quotes doubled.
(define (lnlfer-csv-string s)
  (string-append "\""
                 (apply string-append
                        (map (lambda (c) (if (char=? c #\") "\"\"" (string c))) (string->list s)))
                 "\""))

; A JSON string literal for `s`.
(define (lnlfer-json-string s)
  (let loop ((cs (string->list s)) (acc '()))
    (if (null? cs)
        (string-append "\"" (apply string-append (reverse acc)) "\"")
        (let ((c (car cs)))
          (loop (cdr cs)
                (cons (cond ((char=? c #\") "\\\"")
                            ((char=? c #\\) "\\\\")
                            ((char<? c #\space)
                             (let ((h (number->string (char->integer c) 16)))
                               (string-append "\\u00" (if (< (string-length h) 2) "0" "") h)))
                            (else (string c)))
                      acc))))))

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

; Annotates one file; returns (stem . plug-in-lnlfer's result).
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
    (cons stem result)))

; Annotates every IN-DIR/PATTERN file into OUT-DIR and writes the summary SUMMARY-PATH in
; FORMAT ("csv" or "json"); returns the number of faces found in all.
(define (lnlfer-annotate-folder-summary in-dir pattern out-dir summary-path format)
  (let ((port (open-output-file summary-path))
        (json? (string=? format "json"))
        (files (lnlfer-as-list
                (car (file-glob #:pattern (string-append in-dir "/" pattern)
                                #:filename-encoding TRUE))))
        (total 0)
        (is-first #t))
    (display (if json? "{\"files\":[" "file,face,x,y,width,height,score,label,probability\n")
             port)
    (for-each
     (lambda (path)
       (let ((done (catch #f (lnlfer-annotate-file path out-dir))))
         (if (not done) (gimp-message (string-append "lnlfer: skipped " path)))
         (if done (set! total (+ total (lnlfer-faces (cdr done)))))
         (cond (json?
                (display (string-append (if is-first "\n" ",\n") "{\"file\":" (lnlfer-json-string path))
                         port)
                (display (if done
                             (string-append
                              ",\"faces\":" (number->string (lnlfer-faces (cdr done)))
                              ",\"png\":" (lnlfer-json-string (string-append (car done) ".png"))
                              ",\"xcf\":" (lnlfer-json-string (string-append (car done) ".xcf"))
                              ",\"results\":" (lnlfer-results-json (cdr done)) "}")
                             ",\"error\":\"not annotated (GIMP cannot open it, or the analysis failed)\"}")
                         port))
               (done
                (for-each (lambda (row) (display row port) (newline port))
                          (lnlfer-csv-rows path (cdr done)))))
         (set! is-first #f)))
     files)
    (if json? (display (string-append "\n],\"faces\":" (number->string total) "}\n") port))
    (close-output-port port)
    total))

; The CSV form, as earlier versions had it.
(define (lnlfer-annotate-folder in-dir pattern out-dir csv-path)
  (lnlfer-annotate-folder-summary in-dir pattern out-dir csv-path "csv"))

; The procedure the menu entry runs: the summary is OUT-DIR/faces.csv or faces.json
; (`summary` 0 or 1); an empty OUT-DIR means IN-DIR.
(define (plug-in-lnlfer-folder in-dir pattern out-dir summary)
  (if (string=? in-dir "")
      (gimp-message "lnlfer: choose the folder of the photos")
      (plug-in-lnlfer-folder-run in-dir pattern out-dir summary)))
(define (plug-in-lnlfer-folder-run in-dir pattern out-dir summary)
  (let* ((out (if (string=? out-dir "") in-dir out-dir))
         (format (if (= summary 1) "json" "csv"))
         (total (lnlfer-annotate-folder-summary in-dir pattern out
                                                (string-append out "/faces." format) format)))
    (gimp-message (string-append "lnlfer: " (number->string total) " faces; summary in " out
                                 "/faces." format))))

(script-fu-register-procedure "plug-in-lnlfer-folder"
  _"Facial Expressions in a _Folder..."
  _"Finds the faces and their expressions in every image of a folder (plug-in-lnlfer with its default settings), saves each image annotated (PNG and XCF) in the output folder, and writes a summary of the faces there (faces.csv or faces.json)."
  "lnlfer authors"
  "2026"
  SF-DIRNAME _"_Folder" ""
  SF-STRING _"File _pattern" "*.jpg"
  SF-DIRNAME _"Output fol_der" ""
  SF-OPTION _"Su_mmary" '("CSV (faces.csv)" "JSON (faces.json)"))

(script-fu-menu-register "plug-in-lnlfer-folder" "<Image>/File")
