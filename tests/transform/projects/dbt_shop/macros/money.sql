{% macro to_usd(amount, rate) -%}
    cast({{ amount }} * {{ rate }} as decimal(18, 4))
{%- endmacro %}
