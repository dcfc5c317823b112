package web

// german translates the buyer pages' English sentences (view.T). Keys are the
// English text exactly as handlers and templates write it, formats included;
// TestGerman_CoversEveryText finds the ones missing here.
var german = map[string]string{
	// The layout and the help box.
	"Need help?":                      "Brauchen Sie Hilfe?",
	"Send me my download links again": "Download-Links erneut zusenden",
	"Write to the seller:":            "Schreiben Sie dem Verkäufer:",
	"Reply to the email that brought your download link, or contact the shop where you bought.": "Antworten Sie auf die E-Mail mit Ihrem Download-Link, oder wenden Sie sich an den Shop, in dem Sie gekauft haben.",
	"Questions?":                  "Fragen?",
	"This page refreshes itself.": "Diese Seite aktualisiert sich selbst.",

	// Errors.
	"Not found":            "Nicht gefunden",
	"Something went wrong": "Etwas ist schiefgegangen",
	"Not found.":           "Diese Seite gibt es nicht.",
	"Internal error.":      "Interner Fehler. Bitte versuchen Sie es später noch einmal.",
	"This download link is not valid. Please check that you copied all of it.":  "Dieser Download-Link ist ungültig. Bitte prüfen Sie, ob Sie ihn vollständig kopiert haben.",
	"This purchase has no such file.":                                           "Zu diesem Kauf gehört keine solche Datei.",
	"Old download links are switched off. Please use the link from your email.": "Alte Download-Links sind abgeschaltet. Bitte verwenden Sie den Link aus Ihrer E-Mail.",
	"This download link is incomplete.":                                         "Dieser Download-Link ist unvollständig.",
	"No purchase matches this download link.":                                   "Zu diesem Download-Link gibt es keinen Kauf.",
	"This product has no files yet.":                                            "Zu diesem Produkt gibt es noch keine Dateien.",

	// The download page.
	"Download %s": "%s herunterladen",
	"Thank you for your purchase. Your files:":     "Vielen Dank für Ihren Kauf. Ihre Dateien:",
	"Thank you for your purchase, %s. Your files:": "Vielen Dank für Ihren Kauf, %s. Ihre Dateien:",
	"Downloads: unlimited.":                        "Downloads: unbegrenzt.",
	"Downloads left: %d of %d.":                    "Verbleibende Downloads: %d von %d.",
	"No expiry.":                                   "Ohne zeitliche Begrenzung.",
	"Available until %s.":                          "Verfügbar bis %s.",
	"Order %d of %s":                               "Bestellung %d vom %s",
	"Resuming an interrupted download, or a download manager using several connections, counts as one download.":                                                                                              "Ein abgebrochener und fortgesetzter Download oder ein Download-Manager mit mehreren Verbindungen zählt als ein Download.",
	"This was your last download. Until %s you can resume a download that broke off, or download the other files of this purchase, from this device. After that, the downloads of this purchase are used up.": "Das war Ihr letzter Download. Bis %s können Sie von diesem Gerät aus einen abgebrochenen Download fortsetzen oder die übrigen Dateien dieses Kaufs herunterladen. Danach sind die Downloads dieses Kaufs aufgebraucht.",
	"This purchase was refunded, so its downloads have ended.":                                                                             "Dieser Kauf wurde erstattet, daher sind seine Downloads beendet.",
	"The payment for this purchase was reversed, so its downloads have ended. If you think this is a mistake, please write to the seller.": "Die Zahlung für diesen Kauf wurde zurückgebucht, daher sind seine Downloads beendet. Wenn Sie das für einen Irrtum halten, schreiben Sie bitte dem Verkäufer.",
	"Downloads are paused because a recurring payment for this purchase is missing. They come back as soon as it is paid.":                 "Die Downloads sind pausiert, weil eine wiederkehrende Zahlung für diesen Kauf fehlt. Sobald sie bezahlt ist, sind sie wieder da.",
	"The paid period of this purchase is over, so its downloads have ended.":                                                               "Der bezahlte Zeitraum dieses Kaufs ist vorbei, daher sind seine Downloads beendet.",
	"This download expired on %s. If you still need it, please write to the seller.":                                                       "Dieser Download ist am %s abgelaufen. Wenn Sie ihn noch brauchen, schreiben Sie bitte dem Verkäufer.",
	"You have used all downloads of this purchase, and the last one is over. If you need another one, please write to the seller.":         "Sie haben alle Downloads dieses Kaufs genutzt, und der letzte ist abgeschlossen. Wenn Sie einen weiteren brauchen, schreiben Sie bitte dem Verkäufer.",
	"Access to this download has ended. If you think this is a mistake, please write to the seller.":                                       "Der Zugang zu diesem Download ist beendet. Wenn Sie das für einen Irrtum halten, schreiben Sie bitte dem Verkäufer.",
	"You have used all downloads of this purchase. Please contact the seller if you need another one.":                                     "Sie haben alle Downloads dieses Kaufs genutzt. Wenn Sie einen weiteren brauchen, schreiben Sie bitte dem Verkäufer.",
	"SHA-256": "SHA-256",

	// The return page.
	"Thank you":                "Vielen Dank",
	"Thank you for your order": "Vielen Dank für Ihre Bestellung",
	"This page shows your order after you pay. If you have paid, please use the link in your email.": "Diese Seite zeigt Ihre Bestellung nach der Zahlung. Wenn Sie bezahlt haben, verwenden Sie bitte den Link aus Ihrer E-Mail.",
	"Waiting for PayPal to confirm your payment. This usually takes a few seconds.":                  "Wir warten auf die Bestätigung Ihrer Zahlung durch PayPal. Das dauert meist nur wenige Sekunden.",
	"Payment not confirmed yet": "Zahlung noch nicht bestätigt",
	"PayPal has not confirmed your payment to the shop yet. This sometimes takes longer; you do not need to pay again.": "PayPal hat dem Shop Ihre Zahlung noch nicht bestätigt. Das dauert manchmal länger; Sie müssen nicht noch einmal bezahlen.",
	"As soon as it is confirmed, we email you your download link.":                                                      "Sobald sie bestätigt ist, schicken wir Ihnen Ihren Download-Link per E-Mail.",
	"As soon as it is confirmed, this page shows your download link: keep its address.":                                 "Sobald sie bestätigt ist, zeigt diese Seite Ihren Download-Link: Bewahren Sie ihre Adresse auf.",
	"If nothing has arrived within a day, please write to the seller.":                                                  "Wenn innerhalb eines Tages nichts angekommen ist, schreiben Sie bitte dem Verkäufer.",
	"Check again":                   "Erneut prüfen",
	"Your payment needs the seller": "Ihre Zahlung muss vom Verkäufer geprüft werden",
	"Your payment reached the shop, but the shop could not accept it automatically, so the seller has to look at it. You do not need to pay again.": "Ihre Zahlung ist beim Shop angekommen, konnte aber nicht automatisch angenommen werden; der Verkäufer muss sie prüfen. Sie müssen nicht noch einmal bezahlen.",
	"Please write to the seller and name your payment's transaction number, %s.":                                                                    "Bitte schreiben Sie dem Verkäufer und nennen Sie die Transaktionsnummer Ihrer Zahlung, %s.",
	"Your payment is pending.": "Ihre Zahlung ist noch nicht abgeschlossen.",
	"Keep this page's address: it shows your download link as soon as the payment completes.": "Bewahren Sie die Adresse dieser Seite auf: Sie zeigt Ihren Download-Link, sobald die Zahlung abgeschlossen ist.",
	"We will also email you the link then.":                                                   "Dann schicken wir Ihnen den Link auch per E-Mail.",
	"Your payment is complete. Please use the download link you were sent by email.":          "Ihre Zahlung ist abgeschlossen. Bitte verwenden Sie den Download-Link aus Ihrer E-Mail.",
	"Your payment is complete. Your downloads:":                                               "Ihre Zahlung ist abgeschlossen. Ihre Downloads:",
	"Order refunded": "Bestellung erstattet",
	"This order was refunded, so its downloads have ended.": "Diese Bestellung wurde erstattet, daher sind ihre Downloads beendet.",
	"Downloads paused": "Downloads pausiert",
	"A recurring payment for this order is missing, so its downloads are paused. They come back as soon as it is paid.": "Eine wiederkehrende Zahlung für diese Bestellung fehlt, daher sind ihre Downloads pausiert. Sobald sie bezahlt ist, sind sie wieder da.",
	"Paid period over": "Bezahlter Zeitraum vorbei",
	"The paid period of this order is over, so its downloads have ended.": "Der bezahlte Zeitraum dieser Bestellung ist vorbei, daher sind ihre Downloads beendet.",
	"Payment reversed": "Zahlung zurückgebucht",
	"The payment for this order was reversed, so its downloads have ended. If you think this is a mistake, please write to the seller.": "Die Zahlung für diese Bestellung wurde zurückgebucht, daher sind ihre Downloads beendet. Wenn Sie das für einen Irrtum halten, schreiben Sie bitte dem Verkäufer.",
	"Payment not completed": "Zahlung nicht abgeschlossen",
	"PayPal could not complete this payment, so nothing was charged for the downloads. You can try again with another payment method.": "PayPal konnte diese Zahlung nicht abschließen, daher wurde nichts berechnet. Sie können es mit einer anderen Zahlungsart erneut versuchen.",

	// The resend page.
	"Get your download links again": "Download-Links erneut erhalten",
	"Enter the email address you bought with. If it bought anything here, we send it one email with fresh links to every download that is still open.": "Geben Sie die E-Mail-Adresse ein, mit der Sie gekauft haben. Wenn mit ihr hier etwas gekauft wurde, schicken wir ihr eine E-Mail mit neuen Links zu jedem Download, der noch offen ist.",
	"That does not look like an email address. Please check it and try again.":                                                                         "Das sieht nicht nach einer E-Mail-Adresse aus. Bitte prüfen Sie sie und versuchen Sie es noch einmal.",
	"This shop does not send email from here. Please write to the seller for your links.":                                                              "Dieser Shop verschickt von hier keine E-Mails. Bitte schreiben Sie dem Verkäufer, um Ihre Links zu erhalten.",
	"Check your inbox": "Sehen Sie in Ihr Postfach",
	"If this address bought anything here, an email with fresh download links is on its way. It can take a few minutes; please also look in your spam folder.": "Wenn mit dieser Adresse hier etwas gekauft wurde, ist eine E-Mail mit neuen Download-Links unterwegs. Das kann einige Minuten dauern; bitte sehen Sie auch im Spam-Ordner nach.",
	"No email? Then the purchase was made with another address, or its downloads have ended: please write to the seller.":                                      "Keine E-Mail? Dann wurde mit einer anderen Adresse gekauft, oder die Downloads sind beendet: Bitte schreiben Sie dem Verkäufer.",
	"Your email address": "Ihre E-Mail-Adresse",
	"Send my links":      "Links senden",

	// The home page.
	"This server delivers digital downloads. If you bought something, use the link from your email or the page you were sent to after paying.": "Hier werden digitale Downloads ausgeliefert. Wenn Sie etwas gekauft haben, verwenden Sie den Link aus Ihrer E-Mail oder die Seite, auf die Sie nach der Zahlung geleitet wurden.",
}
