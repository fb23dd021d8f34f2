/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-tooltip"

#include "config.h"

#include "confab-tooltip.h"

/**
 * confab_tooltip_set:
 * @widget: a #GtkWidget
 * @text: (nullable): the tooltip
 *
 * As gtk_widget_set_tooltip_text (), for widgets being made: GTK asks the
 * display where the pointer is whenever a visible widget's tooltip is set,
 * in case it should show at once. Under X11 that is a round trip to the
 * server, 0.1 ms when it is idle and several while it draws a frame; a code
 * block or a message row made while a reply streams paid it for a tooltip
 * nobody was pointing at. A widget not yet on screen skips the question.
 */
void
confab_tooltip_set (GtkWidget  *widget,
                    const char *text)
{
  g_return_if_fail (GTK_IS_WIDGET (widget));

  if (gtk_widget_get_mapped (widget) || !gtk_widget_get_visible (widget))
    {
      gtk_widget_set_tooltip_text (widget, text);
      return;
    }

  gtk_widget_set_visible (widget, FALSE);
  gtk_widget_set_tooltip_text (widget, text);
  gtk_widget_set_visible (widget, TRUE);
}
