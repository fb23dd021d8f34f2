/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "confab-scrolling"

#include "config.h"

#include <math.h>

#include "confab-scrolling.h"

static gboolean
scroll_cb (GtkEventControllerScroll *controller,
           double                    dx,
           double                    dy,
           gpointer                  user_data)
{
  GtkWidget *inner = gtk_event_controller_get_widget (GTK_EVENT_CONTROLLER (controller));
  GtkWidget *parent = gtk_widget_get_parent (inner);
  GtkWidget *outer = parent != NULL ? gtk_widget_get_ancestor (parent, GTK_TYPE_SCROLLED_WINDOW) : NULL;
  GdkModifierType state = gtk_event_controller_get_current_event_state (GTK_EVENT_CONTROLLER (controller));
  GtkAdjustment *adjustment;
  double step;

  if (outer == NULL || (state & GDK_SHIFT_MASK) != 0 || fabs (dy) <= fabs (dx))
    return FALSE;

  adjustment = gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (outer));
  /* A click of the wheel goes as far as in GtkScrolledWindow. */
  if (gtk_event_controller_scroll_get_unit (controller) == GDK_SCROLL_UNIT_WHEEL)
    step = pow (gtk_adjustment_get_page_size (adjustment), 2.0 / 3.0);
  else
    step = 1;

  gtk_adjustment_set_value (adjustment, gtk_adjustment_get_value (adjustment) + dy * step);

  return TRUE;
}

/**
 * confab_scrolling_pass_vertical:
 * @scrolled_window: a #GtkScrolledWindow that scrolls sideways only
 *
 * GtkScrolledWindow takes a wheel's vertical scrolling for itself even when
 * it only scrolls sideways: a conversation would stop scrolling whenever a
 * code block or a table came under the pointer. With this, vertical
 * scrolling over @scrolled_window scrolls the scrolled window around it;
 * with Shift, it still scrolls @scrolled_window sideways.
 */
void
confab_scrolling_pass_vertical (GtkWidget *scrolled_window)
{
  GtkEventController *scroll;

  g_return_if_fail (GTK_IS_SCROLLED_WINDOW (scrolled_window));

  scroll = gtk_event_controller_scroll_new (GTK_EVENT_CONTROLLER_SCROLL_VERTICAL);
  gtk_event_controller_set_name (scroll, "confab-pass-vertical");
  gtk_event_controller_set_propagation_phase (scroll, GTK_PHASE_CAPTURE);
  g_signal_connect (scroll, "scroll", G_CALLBACK (scroll_cb), NULL);
  gtk_widget_add_controller (scrolled_window, scroll);
}
